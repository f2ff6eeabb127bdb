"""An opportunity's deal on the desk: value and currency, expected close date and next step
are listed (in the member's notation), filtered (closing this month, overdue), edited by a
rep through the CRM services (so the audit trail shows each change) and exported in the
CSV, whose delimiter and decimal separator follow the member's language; the CRM's
opportunity id is shown and never edited from the page."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.models import AuditEntry, LeadOpportunity
from tenants.models import Membership, Tenant
from tenants.scoping import scopes_disabled, tenant_scope
from tests.factories import LeadOpportunityFactory
from tests.functional.test_desk_opportunities import _form_data

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:crm_leadopportunity_changelist")


def _change(opportunity: LeadOpportunity) -> str:
    return reverse("admin:crm_leadopportunity_change", args=[opportunity.pk])


def _speak(tenant: Tenant, user: Any, language: str) -> None:
    """The member reads the desk in ``language`` (their own setting and their tenant's)."""
    with scopes_disabled():
        Membership.objects.filter(user=user).update(language=language)
    Tenant.objects.filter(pk=tenant.pk).update(default_language=language)


@pytest.fixture
def deals(tenant_a, tenant_b, outsider) -> dict[str, LeadOpportunity]:
    today = timezone.localdate()
    with tenant_scope(tenant_a):
        won = LeadOpportunityFactory(
            tenant=tenant_a,
            value=Decimal("3450.00"),
            currency="EUR",
            expected_close_date=today,
            next_step="Send the quote for the TU-100 with calibration kit",
            crm_opportunity_id="SF-OPP-991",
        )
        late = LeadOpportunityFactory(
            tenant=tenant_a,
            value=Decimal("1234567.5"),
            currency="USD",
            expected_close_date=today - timedelta(days=40),
            next_step='=HYPERLINK("http://evil.example")',
        )
        closed_late = LeadOpportunityFactory(
            tenant=tenant_a,
            status=LeadOpportunity.Status.CLOSED,
            expected_close_date=today - timedelta(days=40),
        )
        undated = LeadOpportunityFactory(tenant=tenant_a)
    with tenant_scope(tenant_b):
        other = LeadOpportunityFactory(
            tenant=tenant_b, value=Decimal("99"), currency="EUR", expected_close_date=today
        )
    return {"won": won, "late": late, "closed_late": closed_late, "undated": undated, "b": other}


def _row(html: str, opportunity: LeadOpportunity) -> str:
    start = html.index(f'value="{opportunity.pk}"')
    return html[start : html.index("</tr>", start)]


# ---- the list ---------------------------------------------------------------------


def test_list_shows_value_close_date_and_next_step_in_english(client, deals, teammate, tenant_a):
    _speak(tenant_a, teammate, "en")
    client.force_login(teammate)
    html = client.get(CHANGELIST).content.decode()
    won = _row(html, deals["won"])
    assert '<td class="field-deal_value">EUR\xa03,450.00</td>' in won
    today = timezone.localdate()
    assert f"{today.month:02d}/{today.day:02d}/{today.year}" in won
    assert "desk-overdue" not in won
    assert "Send the quote for the TU-100 with cali…" in won
    late = _row(html, deals["late"])
    assert '<td class="field-deal_value">USD\xa01,234,567.50</td>' in late
    assert 'class="desk-overdue"' in late  # the date passed and it is still open
    assert "desk-overdue" not in _row(html, deals["closed_late"])  # closed: not overdue
    assert '<td class="field-deal_value">—</td>' in _row(html, deals["undated"])
    # the list's own style sheet keeps the short columns (the age) on one line
    assert "desk/opportunities.css" in html


def test_list_shows_the_value_in_spanish_notation(client, deals, teammate, tenant_a):
    _speak(tenant_a, teammate, "es")
    client.force_login(teammate)
    html = client.get(CHANGELIST).content.decode()
    assert '<td class="field-deal_value">3.450,00\xa0EUR</td>' in _row(html, deals["won"])
    assert '<td class="field-deal_value">1.234.567,50\xa0USD</td>' in _row(html, deals["late"])
    today = timezone.localdate()
    assert f"{today.day:02d}/{today.month:02d}/{today.year}" in _row(html, deals["won"])


def test_filter_by_expected_close(client, deals, owner):
    client.force_login(owner)

    def listed(query: str) -> set[int]:
        response = client.get(CHANGELIST + query)
        assert response.status_code == 200
        return {o.pk for o in response.context["cl"].result_list}

    assert listed("?closes=month") == {deals["won"].pk}
    assert listed("?closes=overdue") == {deals["late"].pk}
    assert listed("?closes=none") == {deals["undated"].pk}
    assert len(listed("")) == 4  # never another tenant's


def test_sort_by_value(client, deals, owner):
    client.force_login(owner)
    columns = client.get(CHANGELIST).context["cl"].list_display
    index = columns.index("deal_value")
    response = client.get(f"{CHANGELIST}?o={index}")
    values = [o.value for o in response.context["cl"].result_list]
    assert values[-2:] == [Decimal("3450.00"), Decimal("1234567.50")]


# ---- the page ---------------------------------------------------------------------


def _trail(tenant: Tenant, opportunity: LeadOpportunity) -> list[AuditEntry]:
    with tenant_scope(tenant):
        return list(AuditEntry.objects.filter(opportunity=opportunity).order_by("pk"))


def test_a_rep_edits_the_deal_and_the_trail_shows_it(client, deals, teammate, tenant_a):
    _speak(tenant_a, teammate, "es")
    opportunity = deals["undated"]
    client.force_login(teammate)
    page = client.get(_change(opportunity))
    assert page.status_code == 200
    data = _form_data(page)
    assert "crm_opportunity_id" not in data  # read-only
    data.update(
        value="3450,5",  # typed in Spanish notation
        currency="eur",
        expected_close_date="31/12/2026",
        next_step="Demo at the plant on Monday",
        crm_opportunity_id="HACKED",
    )
    response = client.post(_change(opportunity), data)
    assert response.status_code == 302, response.context and response.context["errors"]

    opportunity.refresh_from_db()
    assert (
        opportunity.value,
        opportunity.currency,
        opportunity.expected_close_date,
        opportunity.next_step,
        opportunity.crm_opportunity_id,
    ) == (Decimal("3450.50"), "EUR", date(2026, 12, 31), "Demo at the plant on Monday", "")
    [entry] = _trail(tenant_a, opportunity)
    assert entry.action == "crm.opportunity.updated"
    assert entry.actor == teammate
    assert entry.changes == {
        "value": [None, "3450.50"],
        "currency": ["", "EUR"],
        "expected_close_date": [None, "2026-12-31"],
        "next_step": ["", "Demo at the plant on Monday"],
    }
    html = client.get(_change(opportunity)).content.decode()
    assert "Demo at the plant on Monday" in html
    assert "2026-12-31" in html  # in the trail's table

    # saving the page again changes nothing and records nothing
    client.post(_change(opportunity), _form_data(client.get(_change(opportunity))))
    assert len(_trail(tenant_a, opportunity)) == 1


def test_the_crm_opportunity_id_is_shown_read_only(client, deals, owner):
    client.force_login(owner)
    html = client.get(_change(deals["won"])).content.decode()
    assert "SF-OPP-991" in html
    assert 'name="crm_opportunity_id"' not in html


@pytest.mark.parametrize(
    ("value", "currency", "error"),
    [
        ("100", "EU", "three-letter ISO 4217 code"),
        ("100", "", "Give the currency of the value."),
        ("-5", "EUR", "cannot be negative"),
        ("diez", "EUR", "Enter a number."),
    ],
)
def test_a_bad_deal_is_refused_with_its_reason(client, deals, owner, value, currency, error):
    opportunity = deals["undated"]
    client.force_login(owner)
    data = _form_data(client.get(_change(opportunity)))
    data.update(value=value, currency=currency)
    response = client.post(_change(opportunity), data)
    assert response.status_code == 200
    assert error in str(response.context["errors"])
    opportunity.refresh_from_db()
    assert opportunity.value is None and opportunity.currency == ""
    assert _trail(opportunity.tenant, opportunity) == []


# ---- the export -------------------------------------------------------------------


def _export(client, *opportunities: LeadOpportunity):
    response = client.post(
        CHANGELIST,
        {"action": "export_csv", "_selected_action": [o.pk for o in opportunities]},
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    return text[1:]


def _by_header(text: str, delimiter: str) -> list[dict[str, str]]:
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    header = rows[0]
    return [dict(zip(header, row, strict=True)) for row in rows[1:]]


def test_export_in_english_uses_commas_and_a_decimal_point(client, deals, teammate, tenant_a):
    _speak(tenant_a, teammate, "en")
    client.force_login(teammate)
    text = _export(client, deals["won"], deals["late"], deals["b"])
    assert text.splitlines()[0].startswith("id,status,created,")
    won, late = _by_header(text, ",")  # never the other tenant's
    today = timezone.localdate().isoformat()
    assert (won["value"], won["currency"], won["expected close"]) == ("3450.00", "EUR", today)
    assert won["next step"] == "Send the quote for the TU-100 with calibration kit"
    assert won["CRM opportunity id"] == "SF-OPP-991"
    assert late["value"] == "1234567.50"
    assert late["next step"] == '\'=HYPERLINK("http://evil.example")'  # formula-safe


def test_export_in_spanish_uses_semicolons_and_a_decimal_comma(client, deals, teammate, tenant_a):
    _speak(tenant_a, teammate, "es")
    client.force_login(teammate)
    text = _export(client, deals["won"], deals["late"])
    header = text.splitlines()[0]
    assert header.count(";") == 14 and "," not in header.replace(", ", "")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert [len(row) for row in rows] == [15, 15, 15]
    won, late = rows[1], rows[2]
    assert won[10:13] == ["3450,00", "EUR", timezone.localdate().isoformat()]
    assert late[10] == "1234567,50"
    assert late[13] == '\'=HYPERLINK("http://evil.example")'  # formula-safe


def test_export_of_one_opportunity_follows_the_language(client, deals, owner, tenant_a):
    _speak(tenant_a, owner, "es")
    client.force_login(owner)
    url = reverse("admin:crm_leadopportunity_export", args=[deals["won"].pk])
    text = client.get(url).content.decode("utf-8")[1:]
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[1][0] == str(deals["won"].pk) and rows[1][10] == "3450,00"
