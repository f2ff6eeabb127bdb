"""The desk's quotes: the list, a draft's lines edited inline (SKU, quantity, discount; the
price is always the catalog's, a forged one is ignored), approve, send (a pending reply
carrying the quote and its delivery task), reject, "Prepare a quote" from an opportunity,
and another tenant's quote answering 404 to every view."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib import admin
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from crm.audit import Actor
from crm.models import AuditEntry, LeadOpportunity, Message, Platform
from quotes.models import Quote
from quotes.services import LineRequest, quote_approve, quote_prepare
from tenants.scoping import scopes_disabled, tenant_scope
from tests.factories import (
    ConversationFactory,
    LeadOpportunityFactory,
    ProductFactory,
    RecommendationFactory,
)

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:quotes_quote_changelist")


def _url(quote, name="change"):
    return reverse(f"admin:quotes_quote_{name}", args=[quote.pk])


@pytest.fixture
def catalog(tenant_a):
    with tenant_scope(tenant_a):
        return {
            "meter": ProductFactory(
                tenant=tenant_a,
                sku="HC-2100Q",
                name="Turbidímetro HC-2100Q",
                price=Decimal("1450.00"),
                currency="EUR",
            ),
            "probe": ProductFactory(
                tenant=tenant_a,
                sku="PH-ELEC-01",
                name="Electrodo de pH",
                price=Decimal("89.90"),
                currency="EUR",
            ),
            "usd": ProductFactory(
                tenant=tenant_a, sku="US-500", price=Decimal("500.00"), currency="USD"
            ),
        }


@pytest.fixture
def opportunity(tenant_a):
    with tenant_scope(tenant_a):
        conversation = ConversationFactory(tenant=tenant_a, channel=Platform.TELEGRAM)
        return LeadOpportunityFactory(
            tenant=tenant_a, contact=conversation.contact, conversation=conversation
        )


@pytest.fixture
def draft(tenant_a, catalog, opportunity):
    tenant_a.quote_tax_rate = Decimal("21")
    tenant_a.save()
    with tenant_scope(tenant_a):
        opportunity.refresh_from_db()
        return quote_prepare(
            opportunity=opportunity,
            lines=[LineRequest("HC-2100Q", 2)],
            actor=Actor.agent(),
        )


def _lines(quote):
    with tenant_scope(quote.tenant):
        return [
            (line.sku, line.quantity, line.unit_price, line.discount_percent, line.line_total)
            for line in quote.lines.all()
        ]


def _reload(quote):
    with tenant_scope(quote.tenant):
        return Quote.objects.get(pk=quote.pk)


def _form(quote, rows, notes=""):
    """The change form's POST: the notes and the lines formset (``rows``: dicts of the
    inline's fields, an existing line with its ``id``)."""
    with tenant_scope(quote.tenant):
        initial = quote.lines.count()
    data = {
        "notes": notes,
        "lines-TOTAL_FORMS": str(len(rows)),
        "lines-INITIAL_FORMS": str(initial),
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(rows):
        for key, value in row.items():
            data[f"lines-{index}-{key}"] = value
        data[f"lines-{index}-quote"] = str(quote.pk)
    return data


def test_the_list_shows_the_quote_and_finds_it_by_reference_and_sku(client, teammate, draft):
    client.force_login(teammate)
    response = client.get(CHANGELIST)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Q-00001" in html
    assert "desk-quote-draft" in html
    assert "EUR\xa03,509.00" in html  # the total with tax (21 %)
    assert "AI agent" in html
    for term in ("Q-00001", "q1", "hc-2100q"):
        found = client.get(CHANGELIST, {"q": term}).context["cl"].result_list
        assert [q.pk for q in found] == [draft.pk], term
    assert not client.get(CHANGELIST, {"q": "Q-00002"}).context["cl"].result_list
    assert client.get(CHANGELIST, {"status": "sent"}).context["cl"].result_count == 0
    assert client.get(CHANGELIST, {"status": "draft"}).context["cl"].result_count == 1
    assert client.get(CHANGELIST, {"created_by_kind": "agent"}).context["cl"].result_count == 1
    assert client.get(CHANGELIST, {"created_by_kind": "rep"}).context["cl"].result_count == 0


def test_a_draft_s_lines_are_edited_with_catalog_prices_and_a_forged_price_is_ignored(
    client, teammate, draft, catalog
):
    client.force_login(teammate)
    page = client.get(_url(draft))
    assert page.status_code == 200
    formset = page.context["inline_admin_formsets"][0].formset
    assert "line_sku" in formset.forms[0].fields
    assert "unit_price" not in formset.forms[0].fields
    line = _lines(draft)[0]
    with tenant_scope(draft.tenant):
        line_id = draft.lines.get().pk
    data = _form(
        draft,
        [
            {
                "id": str(line_id),
                "line_sku": "HC-2100Q",
                "quantity": "3",
                "discount_percent": "10",
                "unit_price": "1.00",  # forged: the form has no such field
                "line_total": "1.00",
            },
            {"line_sku": "ph elec 01", "quantity": "2", "discount_percent": "0", "unit_price": "0"},
        ],
        notes="Entrega en 2 semanas.",
    )
    response = client.post(_url(draft), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    assert _lines(draft) == [
        ("HC-2100Q", 3, line[2], Decimal("10.00"), Decimal("3915.00")),
        ("PH-ELEC-01", 2, Decimal("89.90"), Decimal("0.00"), Decimal("179.80")),
    ]
    quote = _reload(draft)
    assert quote.subtotal == Decimal("4094.80")
    assert quote.total == Decimal("4954.71")
    assert quote.notes == "Entrega en 2 semanas."
    with tenant_scope(draft.tenant):
        assert AuditEntry.objects.filter(action="quotes.quote.updated").count() == 1
    history = client.get(_url(draft)).content.decode().split("field-history", 1)[1]
    assert "lines: 2 x HC-2100Q → 3 x HC-2100Q (-10 %), 2 x PH-ELEC-01" in history
    page = client.get(_url(draft)).content.decode()
    assert "Electrodo de pH" in page  # the product's name, from the catalog


@pytest.mark.parametrize(
    ("sku", "reason"),
    [("NOPE-1", "is not in the catalog"), ("US-500", "one quote has one currency")],
)
def test_a_sku_the_catalog_cannot_quote_is_refused_and_nothing_changes(
    client, teammate, draft, sku, reason
):
    client.force_login(teammate)
    before = _lines(draft)
    with tenant_scope(draft.tenant):
        line_id = draft.lines.get().pk
    data = _form(
        draft,
        [
            {"id": str(line_id), "line_sku": "HC-2100Q", "quantity": "2", "discount_percent": "0"},
            {"line_sku": sku, "quantity": "1", "discount_percent": "0"},
        ],
    )
    response = client.post(_url(draft), data)
    assert response.status_code == 200
    assert reason in response.content.decode()
    assert _lines(draft) == before


def test_an_approved_quote_s_lines_are_read_only(client, teammate, draft):
    with tenant_scope(draft.tenant):
        quote_approve(quote=draft, actor=Actor.rep(teammate))
        line_id = draft.lines.get().pk
    client.force_login(teammate)
    page = client.get(_url(draft))
    formset = page.context["inline_admin_formsets"][0]
    assert not formset.has_change_permission and not formset.has_add_permission
    assert 'name="lines-0-line_sku"' not in page.content.decode()
    before = _lines(draft)
    data = _form(
        draft, [{"id": str(line_id), "line_sku": "PH-ELEC-01", "quantity": "9"}], notes="x"
    )
    client.post(_url(draft), data)
    assert _lines(draft) == before
    assert _reload(draft).notes == ""


def test_approve_then_send_stores_the_reply_carrying_the_quote_and_enqueues_its_delivery(
    client, teammate, draft, django_capture_on_commit_callbacks
):
    client.force_login(teammate)
    page = client.get(_url(draft)).content.decode()
    assert 'name="approve"' in page and "Approve and send" in page
    response = client.post(_url(draft, "approve"), follow=True)
    assert "Q-00001 approved." in response.content.decode()
    quote = _reload(draft)
    assert quote.status == Quote.Status.APPROVED and quote.approved_by == teammate
    page = client.get(_url(draft)).content.decode()
    assert 'name="approve"' not in page and 'value="Send"' in page
    history = page.split('class="form-row field-history"', 1)[1]
    assert "Quote prepared" in history and "Quote approved" in history
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(_url(draft, "send"), follow=True)
    assert "is being sent to the customer" in response.content.decode()
    assert _reload(draft).status == Quote.Status.SENT
    with tenant_scope(draft.tenant):
        message = Message.objects.get(metadata__quote__number=1)
    assert message.metadata["quote"]["key"] == quote.public_key
    assert message.role == Message.Role.AGENT and message.author == teammate
    assert message.delivery_status == Message.Delivery.PENDING
    task = DBTaskResult.objects.get(task_path="desk.tasks.message_deliver_task")
    assert task.args_kwargs["args"] == [draft.tenant_id, message.pk]
    with tenant_scope(draft.tenant):
        assert LeadOpportunity.objects.get(pk=draft.opportunity_id).status == "quoted"


def test_sending_a_draft_approves_it_and_a_refusal_is_the_page_s_message(
    client, teammate, draft, django_capture_on_commit_callbacks
):
    client.force_login(teammate)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(_url(draft, "send"))
    quote = _reload(draft)
    assert quote.status == Quote.Status.SENT and quote.approved_by == teammate
    response = client.post(_url(draft, "approve"), follow=True)
    assert "Q-00001 is Sent: it cannot be approved." in response.content.decode()
    with tenant_scope(draft.tenant):
        assert Message.objects.filter(metadata__quote__number=1).count() == 1


def test_reject(client, teammate, draft):
    client.force_login(teammate)
    response = client.post(_url(draft, "reject"), follow=True)
    assert "Q-00001 rejected." in response.content.decode()
    assert _reload(draft).status == Quote.Status.REJECTED
    assert client.get(_url(draft, "reject")).status_code == 405


def test_prepare_a_quote_from_an_opportunity(client, teammate, opportunity, catalog):
    with tenant_scope(opportunity.tenant):
        RecommendationFactory(
            tenant=opportunity.tenant,
            opportunity=opportunity,
            product=catalog["probe"],
            product_sku="PH-ELEC-01",
        )
    client.force_login(teammate)
    url = reverse("admin:quotes_quote_prepare", args=[opportunity.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert page.context["rows"].forms[0].initial == {"sku": "PH-ELEC-01", "quantity": 1}
    rows = {
        "lines-TOTAL_FORMS": "3",
        "lines-INITIAL_FORMS": "0",
        "lines-0-sku": "PH-ELEC-01",
        "lines-0-quantity": "4",
        "lines-1-sku": "NOPE-9",
        "lines-1-quantity": "1",
        "lines-0-unit_price": "1.00",
    }
    refused = client.post(url, rows)
    assert refused.status_code == 400
    assert "NOPE-9 is not in the catalog" in refused.content.decode()
    with tenant_scope(opportunity.tenant):
        assert not Quote.objects.exists()
    rows["lines-1-sku"] = ""
    response = client.post(url, rows)
    with tenant_scope(opportunity.tenant):
        quote = Quote.objects.get()
    assert response.status_code == 302 and response["Location"] == _url(quote)
    assert quote.created_by == teammate and quote.created_by_kind == Quote.CreatedBy.REP
    assert _lines(quote) == [
        ("PH-ELEC-01", 4, Decimal("89.90"), Decimal("0.00"), Decimal("359.60"))
    ]


OBJECT_VIEWS = ["change", "approve", "send", "reject", "pdf", "history", "delete"]


def test_the_isolation_test_names_every_url_of_the_quote_admin():
    prefix = "quotes_quote_"
    names = {p.name.removeprefix(prefix) for p in admin.site._registry[Quote].get_urls() if p.name}
    assert names == {*OBJECT_VIEWS, "changelist", "add", "prepare"}


@pytest.mark.parametrize("name", OBJECT_VIEWS)
def test_another_tenant_s_quote_is_404_and_untouched(client, outsider, draft, name):
    client.force_login(outsider)
    assert client.get(_url(draft, name)).status_code == 404
    assert client.post(_url(draft, name), {"notes": "x"}).status_code == 404
    prepare = reverse("admin:quotes_quote_prepare", args=[draft.opportunity_id])
    assert client.get(prepare).status_code == 404
    assert client.post(prepare, {"lines-TOTAL_FORMS": "0"}).status_code == 404
    with scopes_disabled():
        quote = Quote.objects.get(pk=draft.pk)
        assert Quote.objects.count() == 1
    assert quote.status == Quote.Status.DRAFT and quote.notes == ""


def test_the_opportunity_page_lists_its_quotes_and_offers_prepare_a_quote(client, teammate, draft):
    client.force_login(teammate)
    page = client.get(reverse("admin:crm_leadopportunity_change", args=[draft.opportunity_id]))
    html = page.content.decode()
    assert f'href="{_url(draft)}">Q-00001</a>' in html
    assert "desk-quote-draft" in html and "3,509.00" in html
    assert reverse("admin:quotes_quote_prepare", args=[draft.opportunity_id]) in html
    page = client.get(reverse("admin:crm_conversation_change", args=[draft.conversation_id]))
    assert f'href="{_url(draft)}">Q-00001</a>' in page.content.decode()


def _settings(tenant, **quote_fields):
    return {
        "name": tenant.name,
        "default_language": tenant.default_language,
        "persona": tenant.persona,
        "sales_instructions": tenant.sales_instructions,
        **quote_fields,
    }


def test_the_tenant_admin_edits_the_quote_settings_where_the_tenant_s_settings_are(
    client, owner, teammate, tenant_a
):
    url = reverse("admin:tenants_tenant_change", args=[tenant_a.pk])
    client.force_login(owner)
    assert 'name="quote_terms"' in client.get(url).content.decode()
    response = client.post(
        url,
        _settings(
            tenant_a,
            quote_tax_rate="21",
            quote_validity_days="15",
            quotes_send_without_approval="on",
            quote_terms="Pago a 30 días.",
        ),
    )
    assert response.status_code == 302
    tenant_a.refresh_from_db()
    assert tenant_a.quote_tax_rate == Decimal("21")
    assert tenant_a.quote_validity_days == 15
    assert tenant_a.quotes_send_without_approval is True
    assert tenant_a.quote_terms == "Pago a 30 días."
    # A form without the numbers keeps them; a blank one or out of range is refused.
    assert client.post(url, _settings(tenant_a, quote_terms="x")).status_code == 302
    tenant_a.refresh_from_db()
    assert (tenant_a.quote_tax_rate, tenant_a.quote_validity_days) == (Decimal("21"), 15)
    for bad in ({"quote_tax_rate": ""}, {"quote_tax_rate": "150"}, {"quote_validity_days": "0"}):
        response = client.post(url, _settings(tenant_a, **bad))
        assert response.status_code == 200
        assert next(iter(bad)) in response.context["adminform"].form.errors
    client.force_login(teammate)
    assert client.post(url, _settings(tenant_a, quote_tax_rate="0")).status_code == 403
    tenant_a.refresh_from_db()
    assert tenant_a.quote_tax_rate == Decimal("21")


def test_download_the_pdf(client, teammate, draft):
    client.force_login(teammate)
    response = client.get(_url(draft, "pdf"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="Q-00001.pdf"'
    assert "no-store" in response["Cache-Control"]
    assert response.content.startswith(b"%PDF")
    assert client.post(_url(draft, "pdf")).status_code == 405


@pytest.mark.parametrize("member", ["teammate", "owner"])
def test_quotes_are_never_added_or_deleted_in_the_admin(client, request, draft, member):
    client.force_login(request.getfixturevalue(member))
    assert client.get(reverse("admin:quotes_quote_add")).status_code == 403
    assert client.get(_url(draft, "delete")).status_code == 403
    assert client.post(_url(draft, "delete"), {"post": "yes"}).status_code == 403
    response = client.post(
        CHANGELIST, {"action": "delete_selected", "_selected_action": [draft.pk], "post": "yes"}
    )
    assert response.status_code in (200, 302)
    with tenant_scope(draft.tenant):
        assert Quote.objects.filter(pk=draft.pk).exists()
