"""The sales desk's opportunities page: list, filters, search, the detail page, the
actions and their audit trail, the CSV export, tenant isolation and query counts."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from crm.models import (
    AuditEntry,
    LeadOpportunity,
    Message,
    Platform,
)
from crm.services import opportunity_assign
from tenants.models import Tenant
from tenants.scoping import scopes_disabled, tenant_scope
from tests.factories import (
    CompanyDivisionFactory,
    CompanyFactory,
    ContactFactory,
    ConversationFactory,
    LeadOpportunityFactory,
    MembershipFactory,
    MessageFactory,
    ProductFactory,
    RecommendationFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:crm_leadopportunity_changelist")
STATUS = LeadOpportunity.Status


def _change(opportunity: LeadOpportunity) -> str:
    return reverse("admin:crm_leadopportunity_change", args=[opportunity.pk])


@dataclass
class Desk:
    tenant: Tenant
    fresh: LeadOpportunity  # assigned to the teammate, WhatsApp, two recommendations
    old: LeadOpportunity  # unassigned, Telegram, no company, needs an expert, 3 days old
    product: Any
    other_tenant: LeadOpportunity


@pytest.fixture
def desk(tenant_a, tenant_b, owner, teammate, outsider) -> Desk:
    with tenant_scope(tenant_a):
        company = CompanyFactory(
            tenant=tenant_a, name="Aguas del Valle S.A.", crm_company_id="CRM-CO-1"
        )
        division = CompanyDivisionFactory(
            tenant=tenant_a, company=company, name="Lab Aguas", crm_division_id="CRM-DIV-7"
        )
        laura = ContactFactory(
            tenant=tenant_a,
            division=division,
            full_name="Laura Gómez",
            email="laura@aguas.example",
            crm_contact_id="CRM-C-42",
            platform=Platform.WHATSAPP,
        )
        chat = ConversationFactory(tenant=tenant_a, contact=laura, channel=Platform.WHATSAPP)
        MessageFactory(
            tenant=tenant_a,
            conversation=chat,
            role=Message.Role.USER,
            content="Necesito medir turbidez",
            delivery_status=Message.Delivery.RECEIVED,
            metadata={"segment": "VIP", "note": "<script>alert(1)</script>", "score": 7},
        )
        MessageFactory(
            tenant=tenant_a,
            conversation=chat,
            role=Message.Role.ASSISTANT,
            content="Le recomiendo el TU-100",
            delivery_status=Message.Delivery.DELIVERED,
        )
        MessageFactory(
            tenant=tenant_a,
            conversation=chat,
            role=Message.Role.AGENT,
            content="Hola Laura, soy Rita",
            author=teammate,
            author_name="Rita Rep",
            delivery_status=Message.Delivery.FAILED,
            delivery_error="131047: re-engagement window closed",
        )
        fresh = LeadOpportunityFactory(
            tenant=tenant_a,
            contact=laura,
            conversation=chat,
            assigned_rep=teammate,
            problem_statement="Medir turbidez 0-100 NTU en la planta de agua potable "
            "de la ciudad, con registro continuo y alarma por correo",
        )
        product = ProductFactory(tenant=tenant_a, sku="TU-100", name="Turbidímetro TU-100")
        RecommendationFactory(tenant=tenant_a, opportunity=fresh, product=product)
        RecommendationFactory(
            tenant=tenant_a,
            opportunity=fresh,
            product=None,
            product_sku="TU-100-OLD",
            product_name="Turbidímetro antiguo",
            justification="Cheaper, still covers 0-100 NTU.",
        )
        pedro = ContactFactory(
            tenant=tenant_a,
            division=None,
            full_name="@Pedro",
            email="pedro@example.com",
            platform=Platform.TELEGRAM,
        )
        old = LeadOpportunityFactory(
            tenant=tenant_a,
            contact=pedro,
            conversation__channel=Platform.TELEGRAM,
            status=STATUS.NEEDS_EXPERT,
            problem_statement='=HYPERLINK("http://evil.example","pH")',
        )
        LeadOpportunity.objects.filter(pk=old.pk).update(
            created_at=timezone.now() - timedelta(days=3, hours=2)
        )
        old.refresh_from_db()
    with tenant_scope(tenant_b):
        other = LeadOpportunityFactory(
            tenant=tenant_b, assigned_rep=outsider, problem_statement="Bravo's secret need"
        )
        RecommendationFactory(
            tenant=tenant_b, opportunity=other, product__sku="TU-100-B", product_sku="TU-100"
        )
    return Desk(tenant=tenant_a, fresh=fresh, old=old, product=product, other_tenant=other)


def _listed(client, query: str = "") -> list[LeadOpportunity]:
    response = client.get(CHANGELIST + query)
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


def _events(desk: Desk, opportunity: LeadOpportunity) -> list[tuple[str, str, str, Any]]:
    with tenant_scope(desk.tenant):
        return [
            (e.action, e.from_value, e.to_value, e.actor)
            for e in AuditEntry.objects.filter(opportunity=opportunity)
        ]


# ---- the list ---------------------------------------------------------------------


def test_list_shows_the_columns_and_counts(client, desk, teammate):
    client.force_login(teammate)
    response = client.get(CHANGELIST)
    assert [o.pk for o in response.context["cl"].result_list] == [desk.fresh.pk, desk.old.pk]
    fresh, old = response.context["cl"].result_list
    assert (fresh.recommendations_total, old.recommendations_total) == (2, 0)
    html = response.content.decode()
    assert '<td class="field-recommendation_count">2</td>' in html
    assert '<td class="field-recommendation_count">0</td>' in html
    assert (
        '<td class="field-contact_name">Laura Gómez'
        '<span class="desk-sub">Aguas del Valle S.A. / Lab Aguas</span></td>'
    ) in html
    assert '<td class="field-contact_name">@Pedro</td>' in html  # no company
    assert '<td class="field-assigned_rep_name">rep@alpha.example</td>' in html
    assert "Medir turbidez 0-100 NTU en la planta de agua potable de la ciudad, c…" in html
    assert "alarma por correo" not in html  # truncated
    assert '<td class="field-age">3\xa0days</td>' in html
    assert "Needs an expert" in html
    assert "Bravo" not in html


def test_filters(client, desk, owner, teammate, outsider):
    client.force_login(owner)
    assert _listed(client, "?status__exact=needs_expert") == [desk.old]
    assert _listed(client, "?status__exact=qualified") == [desk.fresh]
    assert _listed(client, f"?rep={teammate.pk}") == [desk.fresh]
    assert _listed(client, "?rep=none") == [desk.old]
    assert _listed(client, f"?rep={outsider.pk}") == []
    assert _listed(client, "?conversation__channel__exact=whatsapp") == [desk.fresh]
    assert _listed(client, "?conversation__channel__exact=telegram") == [desk.old]

    response = client.get(CHANGELIST)
    specs = {spec.title: spec for spec in response.context["cl"].filter_specs}
    dates = {
        c["display"]: c["query_string"] for c in specs["created at"].choices(response.context["cl"])
    }
    assert _listed(client, dates["Today"]) == [desk.fresh]
    assert _listed(client, dates["Past 7 days"]) == [desk.fresh, desk.old]
    rep_filter = specs["assigned rep"]
    offered = {key for key, _ in rep_filter.lookup_choices}
    assert offered == {"none", str(owner.pk), str(teammate.pk)}
    assert outsider.email not in response.content.decode()


def test_search_by_sku_contact_and_company_gives_distinct_rows(client, desk, teammate):
    client.force_login(teammate)
    # both recommendations of the fresh opportunity match: still listed once
    assert _listed(client, "?q=TU-100") == [desk.fresh]
    assert _listed(client, "?q=laura@aguas") == [desk.fresh]
    assert _listed(client, "?q=Laura") == [desk.fresh]
    assert _listed(client, "?q=Aguas del Valle") == [desk.fresh]
    assert _listed(client, "?q=pedro@example") == [desk.old]
    assert _listed(client, "?q=TU-100-B") == []
    listed = _listed(client, "?q=TU-100")
    assert listed[0].recommendations_total == 2


# ---- the page ---------------------------------------------------------------------


def test_detail_shows_recommendations_transcript_crm_ids_and_escaped_metadata(
    client, desk, teammate
):
    client.force_login(teammate)
    response = client.get(_change(desk.fresh))
    assert response.status_code == 200
    html = response.content.decode()
    product_url = reverse("admin:catalog_product_change", args=[desk.product.pk])
    assert f'<a href="{product_url}">Turbidímetro TU-100</a>' in html
    assert "TU-100-OLD" in html and "Turbidímetro antiguo" in html
    assert "Cheaper, still covers 0-100 NTU." in html
    conversation_url = reverse("admin:crm_conversation_change", args=[desk.fresh.conversation_id])
    assert f'href="{conversation_url}">Open the conversation</a>' in html
    # transcript: who, over which channel, delivery status, and the error when it failed
    for text in (
        "Customer (Laura Gómez)",
        "Necesito medir turbidez",
        "Bot",
        "Le recomiendo el TU-100",
        "Sales rep (Rita Rep)",
        "Hola Laura, soy Rita",
        "WhatsApp",
        "Received",
        "Delivered",
        'Failed<br><span class="errornote">131047: re-engagement window closed</span>',
    ):
        assert text in html, text
    # CRM ids
    for crm_id in ("CRM-C-42", "CRM-CO-1", "CRM-DIV-7"):
        assert f"<code>{crm_id}</code>" in html
    # metadata, escaped
    assert "<th>segment</th>" in html and ">VIP<" in html
    assert "<th>score</th>" in html
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_page_without_conversation_or_history(client, desk, owner):
    with tenant_scope(desk.tenant):
        bare = LeadOpportunityFactory(tenant=desk.tenant, conversation=None)
    client.force_login(owner)
    html = client.get(_change(bare)).content.decode()
    assert "No conversation." in html
    assert "No changes yet." in html


# ---- actions and the audit trail --------------------------------------------------


def _act(client, action: str, *opportunities: LeadOpportunity):
    return client.post(
        CHANGELIST,
        {"action": action, "_selected_action": [o.pk for o in opportunities]},
    )


def test_assign_to_me_records_who_and_when(client, desk, owner, teammate):
    client.force_login(owner)
    before = timezone.now()
    response = _act(client, "assign_to_me", desk.fresh, desk.old)
    assert response.status_code == 302
    for opportunity in (desk.fresh, desk.old):
        opportunity.refresh_from_db()
        assert opportunity.assigned_rep == owner
    assert _events(desk, desk.fresh) == [
        ("crm.opportunity.assigned", teammate.username, owner.username, owner)
    ]
    assert _events(desk, desk.old) == [("crm.opportunity.assigned", "", owner.username, owner)]
    with tenant_scope(desk.tenant):
        event = AuditEntry.objects.get(opportunity=desk.fresh)
    assert before <= event.created_at <= timezone.now()
    # running it again changes nothing and records nothing
    _act(client, "assign_to_me", desk.fresh)
    assert len(_events(desk, desk.fresh)) == 1
    html = client.get(_change(desk.fresh)).content.decode()
    assert "<td>Assigned</td><td>rep@alpha.example</td><td>owner@alpha.example</td>" in html


def test_status_actions_record_the_trail(client, desk, teammate):
    client.force_login(teammate)
    before = timezone.now()
    _act(client, "move_to_needs_expert", desk.fresh)
    desk.fresh.refresh_from_db()
    assert desk.fresh.status == STATUS.NEEDS_EXPERT
    _act(client, "move_to_closed", desk.fresh, desk.old)
    for opportunity in (desk.fresh, desk.old):
        opportunity.refresh_from_db()
        assert opportunity.status == STATUS.CLOSED
    changed = "crm.opportunity.status_changed"
    assert _events(desk, desk.fresh) == [
        (changed, "qualified", "needs_expert", teammate),
        (changed, "needs_expert", "closed", teammate),
    ]
    assert _events(desk, desk.old) == [(changed, "needs_expert", "closed", teammate)]
    with tenant_scope(desk.tenant):
        times = list(
            AuditEntry.objects.filter(opportunity=desk.fresh).values_list("created_at", flat=True)
        )
    assert all(before <= t <= timezone.now() for t in times)
    _act(client, "move_to_closed", desk.fresh)
    assert len(_events(desk, desk.fresh)) == 2
    html = client.get(_change(desk.fresh)).content.decode()
    assert (
        "<td>rep@alpha.example</td><td>Status changed</td><td>Qualified</td>"
        "<td>Needs an expert</td>" in html
    )
    assert "<td>Status changed</td><td>Needs an expert</td><td>Closed</td>" in html


def _form_data(response) -> dict[str, Any]:
    """What the change page would post back unchanged."""
    form = response.context["adminform"].form
    data: dict[str, Any] = {}
    for name in form.fields:
        value = form[name].value()
        data[form.add_prefix(name)] = "" if value is None else value
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = management[name].value()
        for inline_form in formset.forms:
            for name in inline_form.fields:
                value = inline_form[name].value()
                data[inline_form.add_prefix(name)] = "" if value is None else value
    return data


def test_editing_status_and_rep_in_the_form_records_events(client, desk, owner, teammate):
    client.force_login(owner)
    data = _form_data(client.get(_change(desk.fresh)))
    data.update(status=STATUS.CLOSED, assigned_rep=owner.pk, problem_statement="Turbidez")
    response = client.post(_change(desk.fresh), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    desk.fresh.refresh_from_db()
    assert (desk.fresh.status, desk.fresh.assigned_rep, desk.fresh.problem_statement) == (
        STATUS.CLOSED,
        owner,
        "Turbidez",
    )
    assert _events(desk, desk.fresh) == [
        ("crm.opportunity.updated", "", "", owner),  # the problem statement, with its text
        ("crm.opportunity.status_changed", "qualified", "closed", owner),
        ("crm.opportunity.assigned", teammate.username, owner.username, owner),
    ]
    with tenant_scope(desk.tenant):
        edit = AuditEntry.objects.filter(opportunity=desk.fresh).first()
    assert edit is not None and edit.changes["problem_statement"][1] == "Turbidez"
    # saving again without a change records nothing
    data = _form_data(client.get(_change(desk.fresh)))
    assert client.post(_change(desk.fresh), data).status_code == 302
    assert len(_events(desk, desk.fresh)) == 3


def test_assigning_another_tenants_user_is_refused(desk, outsider):
    with tenant_scope(desk.tenant), pytest.raises(ValidationError):
        opportunity_assign(opportunity=desk.fresh, rep=outsider, actor=outsider)
    desk.fresh.refresh_from_db()
    assert desk.fresh.assigned_rep != outsider
    assert _events(desk, desk.fresh) == []


# ---- CSV --------------------------------------------------------------------------


def _csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def _created(opportunity: LeadOpportunity) -> str:
    return timezone.localtime(opportunity.created_at).isoformat(timespec="seconds")


def test_csv_export_of_the_selection(client, desk, teammate):
    client.force_login(teammate)
    response = _act(client, "export_csv", desk.fresh, desk.old, desk.other_tenant)
    assert 'filename="opportunities.csv"' in response["Content-Disposition"]
    assert _csv_rows(response) == [
        [
            "id",
            "status",
            "created",
            "contact",
            "email",
            "company",
            "division",
            "problem statement",
            "recommended skus",
            "assigned rep",
            "value",
            "currency",
            "expected close",
            "next step",
            "CRM opportunity id",
        ],
        [
            str(desk.fresh.pk),
            "qualified",
            _created(desk.fresh),
            "Laura Gómez",
            "laura@aguas.example",
            "Aguas del Valle S.A.",
            "Lab Aguas",
            desk.fresh.problem_statement,
            "TU-100; TU-100-OLD",
            "rep@alpha.example",
            *[""] * 5,  # no deal yet (test_desk_opportunities_deal.py)
        ],
        [
            str(desk.old.pk),
            "needs_expert",
            _created(desk.old),
            "'@Pedro",
            "pedro@example.com",
            "",
            "",
            """'=HYPERLINK("http://evil.example","pH")""",
            "",
            "",
            *[""] * 5,
        ],
    ]


def test_csv_export_of_one_opportunity(client, desk, owner):
    client.force_login(owner)
    url = reverse("admin:crm_leadopportunity_export", args=[desk.old.pk])
    rows = _csv_rows(client.get(url))
    assert [row[0] for row in rows] == ["id", str(desk.old.pk)]
    html = client.get(_change(desk.old)).content.decode()
    assert f'href="{url}"' in html


# ---- isolation and permissions ----------------------------------------------------


@pytest.mark.parametrize("view", ["change", "history", "export"])
@pytest.mark.parametrize("member", ["outsider", "teammate"])
def test_another_tenants_opportunity_is_404(client, desk, request, view, member):
    client.force_login(request.getfixturevalue(member))
    target = desk.fresh if member == "outsider" else desk.other_tenant
    url = reverse(f"admin:crm_leadopportunity_{view}", args=[target.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {"status": "closed"}).status_code == 404


def test_outsider_actions_never_touch_tenant_a(client, desk, outsider, tenant_b):
    client.force_login(outsider)
    for action in ("assign_to_me", "move_to_closed"):
        _act(client, action, desk.fresh, desk.old)
    desk.fresh.refresh_from_db()
    assert (desk.fresh.status, desk.fresh.assigned_rep_id) != (STATUS.CLOSED, outsider.pk)
    assert desk.fresh.status == STATUS.QUALIFIED
    with scopes_disabled():
        assert not AuditEntry.objects.exists()
    response = _act(client, "export_csv", desk.fresh, desk.other_tenant)
    rows = _csv_rows(response)
    assert [row[0] for row in rows[1:]] == [str(desk.other_tenant.pk)]


@pytest.fixture
def viewer(tenant_a):
    """A member of tenant A whose only right on opportunities is to view them."""
    user = UserFactory(username="viewer@alpha.example")
    with tenant_scope(tenant_a):
        MembershipFactory(tenant=tenant_a, user=user)
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="crm",
            codename__in=["view_leadopportunity", "view_auditentry"],
        )
    )
    return user


def test_without_change_permission_no_action_runs(client, desk, viewer):
    client.force_login(viewer)
    response = client.get(CHANGELIST)
    assert response.status_code == 200
    offered = {name for name, _ in response.context["action_form"].fields["action"].choices}
    assert "export_csv" in offered
    assert not offered & {"assign_to_me", "move_to_needs_expert", "move_to_closed"}
    for action in ("assign_to_me", "move_to_needs_expert", "move_to_closed"):
        _act(client, action, desk.fresh)
    desk.fresh.refresh_from_db()
    assert (desk.fresh.status, desk.fresh.assigned_rep_id) == (
        STATUS.QUALIFIED,
        desk.fresh.assigned_rep_id,
    )
    assert desk.fresh.assigned_rep_id != viewer.pk
    assert _events(desk, desk.fresh) == []
    assert client.post(_change(desk.fresh), {"status": "closed"}).status_code == 403
    assert _csv_rows(_act(client, "export_csv", desk.fresh))[1][0] == str(desk.fresh.pk)


def test_tenant_admin_and_rep_groups_can_read_the_trail(client, desk, owner, teammate):
    events_url = reverse("admin:crm_auditentry_changelist")
    for user in (owner, teammate):
        client.force_login(user)
        assert client.get(events_url).status_code == 200
        assert client.get(reverse("admin:crm_auditentry_add")).status_code == 403


# ---- query count ------------------------------------------------------------------


def _more_opportunities(tenant: Tenant, teammate: Any, count: int) -> None:
    with tenant_scope(tenant):
        for _ in range(count):
            opportunity = LeadOpportunityFactory(tenant=tenant, assigned_rep=teammate)
            RecommendationFactory.create_batch(2, tenant=tenant, opportunity=opportunity)


def test_list_runs_in_a_constant_number_of_queries(
    client, desk, teammate, django_assert_max_num_queries
):
    client.force_login(teammate)
    client.get(CHANGELIST)  # warm the session and content type caches
    with CaptureQueriesContext(connection) as few:
        assert client.get(CHANGELIST).status_code == 200
    _more_opportunities(desk.tenant, teammate, 12)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(CHANGELIST)
    assert len(response.context["cl"].result_list) == 14
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(CHANGELIST + "?q=HL-")
    assert len(few.captured_queries) <= 12


def test_soft_delete_restore_and_operator_hard_delete_on_the_annotated_list(
    client, desk, teammate, operator
):
    client.force_login(teammate)
    assert _act(client, "delete_selected", desk.old).status_code == 200  # confirmation
    client.post(
        CHANGELIST,
        {"action": "delete_selected", "_selected_action": [desk.old.pk], "post": "yes"},
    )
    desk.old.refresh_from_db()
    assert desk.old.is_deleted
    assert _listed(client) == [desk.fresh]
    client.post(
        CHANGELIST + "?trash=only",
        {"action": "restore_selected", "_selected_action": [desk.old.pk]},
    )
    desk.old.refresh_from_db()
    assert not desk.old.is_deleted

    client.force_login(operator)
    _act(client, "hard_delete_selected", desk.old)
    with scopes_disabled():
        assert not LeadOpportunity.all_objects.filter(pk=desk.old.pk).exists()


def test_operator_sees_every_tenant_but_cannot_take_opportunities(client, desk, operator):
    client.force_login(operator)
    response = client.get(CHANGELIST)
    listed = set(response.context["cl"].result_list)
    assert {desk.fresh, desk.old, desk.other_tenant} <= listed
    specs = {spec.title: spec for spec in response.context["cl"].filter_specs}
    labels = {label for _, label in specs["assigned rep"].lookup_choices}
    assert {"owner@bravo.example (Bravo Sensors)", "rep@alpha.example (Alpha Labs)"} <= labels
    _act(client, "assign_to_me", desk.fresh)
    desk.fresh.refresh_from_db()
    assert desk.fresh.assigned_rep != operator
    with scopes_disabled():
        assert not AuditEntry.objects.exists()
    assert client.get(_change(desk.other_tenant)).status_code == 200
