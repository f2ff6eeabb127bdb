"""Quotes' services: catalog prices only, the status flow, numbering per tenant, events."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from crm.audit import Actor
from crm.events import EventType, event_subscribe
from crm.models import AuditEntry, LeadOpportunity, Message
from quotes.models import Quote, QuoteLine
from quotes.selectors import quote_by_key, quotes_awaiting_answer
from quotes.services import (
    LineRequest,
    QuoteRefused,
    quote_accept,
    quote_approve,
    quote_caption,
    quote_lines_set,
    quote_prepare,
    quote_reject,
    quote_send,
    quotes_expire,
)
from tenants.scoping import tenant_scope
from tests.factories import LeadOpportunityFactory, ProductFactory

pytestmark = pytest.mark.django_db(transaction=True)
AGENT = Actor.agent()


@pytest.fixture
def catalog(tenant_a):
    with tenant_scope(tenant_a):
        return {
            "meter": ProductFactory(
                tenant=tenant_a, sku="HC-2100Q", price=Decimal("1450.00"), currency="EUR"
            ),
            "probe": ProductFactory(
                tenant=tenant_a, sku="PH-ELEC-01", price=Decimal("89.90"), currency="EUR"
            ),
            "usd": ProductFactory(
                tenant=tenant_a, sku="US-500", price=Decimal("500.00"), currency="USD"
            ),
            "unpriced": ProductFactory(tenant=tenant_a, sku="NP-1", price=None, currency="EUR"),
            "inactive": ProductFactory(
                tenant=tenant_a, sku="OLD-1", price=Decimal("10"), currency="EUR", is_active=False
            ),
        }


@pytest.fixture
def opportunity(tenant_a):
    with tenant_scope(tenant_a):
        return LeadOpportunityFactory(tenant=tenant_a)


def _prepare(tenant, opportunity, lines, actor=AGENT):
    with tenant_scope(tenant):
        return quote_prepare(opportunity=opportunity, lines=lines, actor=actor)


def test_a_draft_takes_names_and_prices_from_the_catalog(tenant_a, catalog, opportunity):
    tenant_a.quote_tax_rate = Decimal("21")
    tenant_a.save()
    opportunity.tenant = tenant_a
    quote = _prepare(
        tenant_a,
        opportunity,
        [LineRequest("hc2100q", 2), LineRequest("PH-ELEC-01", 3), LineRequest("HC 2100Q", 1)],
    )
    with tenant_scope(tenant_a):
        lines = list(quote.lines.all())
    assert [(line.sku, line.quantity, line.unit_price) for line in lines] == [
        ("HC-2100Q", 3, Decimal("1450.00")),
        ("PH-ELEC-01", 3, Decimal("89.90")),
    ]
    assert quote.subtotal == Decimal("4619.70")
    assert quote.tax_amount == Decimal("970.14")
    assert quote.total == Decimal("5589.84")
    assert quote.currency == "EUR"
    assert quote.status == Quote.Status.DRAFT
    assert quote.number == 1 and quote.reference == "Q-00001"
    assert quote.valid_until == timezone.localdate() + timedelta(days=30)


@pytest.mark.parametrize(
    ("sku", "code"),
    [
        ("NOPE-404", "unknown_sku"),
        ("NP-1", "no_price"),
        ("OLD-1", "inactive"),
        ("US-500", "currency"),
    ],
)
def test_a_line_that_cannot_be_quoted_writes_nothing(tenant_a, catalog, opportunity, sku, code):
    with pytest.raises(QuoteRefused) as refused:
        _prepare(tenant_a, opportunity, [LineRequest("HC-2100Q", 1), LineRequest(sku, 1)])
    assert refused.value.code == code
    assert sku.split("-")[0] in refused.value.message or code == "currency"
    with tenant_scope(tenant_a):
        assert not Quote.all_objects.exists()
        assert not QuoteLine.all_objects.exists()


@pytest.mark.parametrize("quantity", [0, -1, 2.5, "3", 10_000_001])
def test_quantities_are_whole_and_positive(tenant_a, catalog, opportunity, quantity):
    with pytest.raises(QuoteRefused) as refused:
        _prepare(tenant_a, opportunity, [LineRequest("HC-2100Q", quantity)])
    assert refused.value.code == "quantity"


def test_another_tenants_sku_cannot_be_quoted(tenant_a, tenant_b, catalog):
    with tenant_scope(tenant_b):
        opportunity_b = LeadOpportunityFactory(tenant=tenant_b)
    with pytest.raises(QuoteRefused) as refused:
        _prepare(tenant_b, opportunity_b, [LineRequest("HC-2100Q", 1)])
    assert refused.value.code == "unknown_sku"


def test_numbers_count_per_tenant(tenant_a, tenant_b, catalog, opportunity):
    first = _prepare(tenant_a, opportunity, [LineRequest("HC-2100Q", 1)])
    second = _prepare(tenant_a, opportunity, [LineRequest("HC-2100Q", 1)])
    with tenant_scope(tenant_b):
        ProductFactory(tenant=tenant_b, sku="B-1", price=Decimal("5"), currency="EUR")
        opportunity_b = LeadOpportunityFactory(tenant=tenant_b)
    other = _prepare(tenant_b, opportunity_b, [LineRequest("B-1", 1)])
    assert (first.number, second.number, other.number) == (1, 2, 1)
    with tenant_scope(tenant_b):
        assert quote_by_key(tenant=tenant_b, key=first.public_key) is None


def test_a_rep_edits_a_draft_and_a_kept_line_keeps_its_price(tenant_a, catalog, opportunity, owner):
    quote = _prepare(tenant_a, opportunity, [LineRequest("HC-2100Q", 1)])
    with tenant_scope(tenant_a):
        catalog["meter"].price = Decimal("1600.00")
        catalog["meter"].save()
        quote_lines_set(
            quote=quote,
            lines=[
                LineRequest("HC-2100Q", 2, Decimal("10")),
                LineRequest("PH-ELEC-01", 1),
            ],
            actor=Actor.rep(owner),
        )
        lines = list(quote.lines.all())
        assert [(line.sku, line.unit_price, line.line_total) for line in lines] == [
            ("HC-2100Q", Decimal("1450.00"), Decimal("2610.00")),
            ("PH-ELEC-01", Decimal("89.90"), Decimal("89.90")),
        ]
        assert quote.total == Decimal("2699.90")
        assert AuditEntry.objects.filter(action="quotes.quote.updated").count() == 1


def test_the_flow_draft_approved_sent_accepted(tenant_a, catalog, opportunity, owner):
    seen: list[str] = []
    unsubscribe = event_subscribe(lambda e: seen.append(e.type))
    try:
        quote = _prepare(tenant_a, opportunity, [LineRequest("HC-2100Q", 1)])
        with tenant_scope(tenant_a):
            with pytest.raises(QuoteRefused) as refused:
                quote_send(quote=quote, actor=AGENT)
            assert refused.value.code == "needs_approval"
            with pytest.raises(QuoteRefused):
                quote_approve(quote=quote, actor=AGENT)
            quote_approve(quote=quote, actor=Actor.rep(owner))
            message = quote_send(quote=quote, actor=Actor.rep(owner))
            assert message.metadata["quote"] == {"key": quote.public_key, "number": 1}
            assert message.role == Message.Role.AGENT
            assert message.delivery_status == Message.Delivery.PENDING
            assert "Q-00001" in message.content
            assert list(quotes_awaiting_answer(conversation=quote.conversation)) == [quote]
            opportunity.refresh_from_db()
            assert opportunity.status == LeadOpportunity.Status.QUOTED
            quote_accept(quote=quote, actor=Actor.system("Customer"), via="widget")
            quote_accept(quote=quote, actor=Actor.system("Customer"), via="widget")  # again
            opportunity.refresh_from_db()
            assert opportunity.status == LeadOpportunity.Status.WON
            quote.conversation.refresh_from_db()
            assert quote.conversation.needs_attention
            assert "Q-00001" in quote.conversation.attention_reason
    finally:
        unsubscribe()
    quote_events = [t for t in seen if t.startswith("quote.")]
    assert quote_events == [
        EventType.QUOTE_CREATED,
        EventType.QUOTE_APPROVED,
        EventType.QUOTE_SENT,
        EventType.QUOTE_ACCEPTED,
    ]


def test_the_agent_sends_a_draft_only_when_the_tenant_allows_it(tenant_a, catalog, opportunity):
    tenant_a.quotes_send_without_approval = True
    tenant_a.save()
    opportunity.tenant = tenant_a
    quote = _prepare(tenant_a, opportunity, [LineRequest("HC-2100Q", 1)])
    with tenant_scope(tenant_a):
        message = quote_send(quote=quote, actor=AGENT)
        assert message.role == Message.Role.ASSISTANT
        assert quote.status == Quote.Status.SENT
        assert quote.approved_by is None


def test_an_expired_quote_cannot_be_accepted(tenant_a, catalog, opportunity, owner):
    quote = _prepare(tenant_a, opportunity, [LineRequest("HC-2100Q", 1)])
    with tenant_scope(tenant_a):
        quote_send(quote=quote, actor=Actor.rep(owner))
        Quote.objects.filter(pk=quote.pk).update(
            valid_until=timezone.localdate() - timedelta(days=1)
        )
        with pytest.raises(QuoteRefused) as refused:
            quote_accept(quote=quote, actor=Actor.system("Customer"), via="text")
        assert refused.value.code == "expired"
        quote.refresh_from_db()
        assert quote.status == Quote.Status.EXPIRED
        opportunity.refresh_from_db()
        assert opportunity.status == LeadOpportunity.Status.QUOTED


def test_expiry_sweeps_open_quotes_only(tenant_a, catalog, opportunity, owner):
    open_quote = _prepare(tenant_a, opportunity, [LineRequest("HC-2100Q", 1)])
    rejected = _prepare(tenant_a, opportunity, [LineRequest("HC-2100Q", 1)])
    with tenant_scope(tenant_a):
        quote_reject(quote=rejected, actor=Actor.rep(owner))
        later = timezone.localdate() + timedelta(days=31)
        assert quotes_expire(tenant=tenant_a, actor=Actor.system(), today=later) == 1
        open_quote.refresh_from_db()
        rejected.refresh_from_db()
    assert (open_quote.status, rejected.status) == (Quote.Status.EXPIRED, Quote.Status.REJECTED)


def test_the_caption_writes_money_as_the_pdf_does(tenant_a, catalog, opportunity):
    quote = _prepare(tenant_a, opportunity, [LineRequest("HC-2100Q", 1)])
    with tenant_scope(tenant_a):
        assert "1.450,00 EUR" in quote_caption(quote)
        quote.language = "en"
        assert "1,450.00 EUR" in quote_caption(quote)


def test_restating_the_need_keeps_a_quoted_opportunity_and_a_won_one_is_not_reused(
    tenant_a, catalog, opportunity, owner
):
    from crm.services import opportunity_register

    quote = _prepare(tenant_a, opportunity, [LineRequest("HC-2100Q", 1)])
    with tenant_scope(tenant_a):
        quote_send(quote=quote, actor=Actor.rep(owner))
        again, created = opportunity_register(
            contact=opportunity.contact,
            conversation=opportunity.conversation,
            problem_statement="Turbidez 0-100 NTU, dos equipos",
            actor=AGENT,
        )
        assert (again.pk, created, again.status) == (
            opportunity.pk,
            False,
            LeadOpportunity.Status.QUOTED,
        )
        quote_accept(quote=quote, actor=Actor.system("Customer"), via="text")
        new, created = opportunity_register(
            contact=opportunity.contact,
            conversation=opportunity.conversation,
            problem_statement="Ahora un medidor de pH",
            actor=AGENT,
        )
        opportunity.refresh_from_db()
    assert created and new.pk != opportunity.pk
    assert opportunity.status == LeadOpportunity.Status.WON
