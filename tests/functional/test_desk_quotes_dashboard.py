"""The dashboard's quotes: sent and accepted in the period with their value per currency,
and the funnel conversations → opportunities → quotes sent → accepted, on known data;
another tenant's quotes change nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from quotes.models import Quote
from tenants.scoping import tenant_scope
from tests.factories import LeadOpportunityFactory, QuoteFactory
from tests.functional.test_desk_dashboard import INDEX, _cards, _login, at, conversation, figures

pytestmark = pytest.mark.django_db
Status = Quote.Status


def quote(conv, total, status, *, sent=None, accepted=None, currency="EUR"):
    opportunity = LeadOpportunityFactory(
        tenant=conv.tenant, contact=conv.contact, conversation=conv
    )
    return QuoteFactory(
        tenant=conv.tenant,
        opportunity=opportunity,
        total=Decimal(total),
        currency=currency,
        status=status,
        sent_at=sent,
        accepted_at=accepted,
    )


@pytest.fixture
def quotes_data(tenant_a, tenant_b):
    with tenant_scope(tenant_a):
        c1 = conversation(tenant_a, "telegram", at(5))
        c2 = conversation(tenant_a, "whatsapp", at(4))
        c3 = conversation(tenant_a, "widget", at(3))
        conversation(tenant_a, "widget", at(2))  # no opportunity
        c5 = conversation(tenant_a, "telegram", at(40))  # before the 30 days
        quote(c1, "1000.00", Status.ACCEPTED, sent=at(2), accepted=at(1))
        quote(c2, "500.00", Status.SENT, sent=at(3))
        quote(c2, "90.00", Status.REJECTED, sent=at(1), currency="USD")
        quote(c3, "200.00", Status.DRAFT)  # not sent: not a quote of the funnel
        quote(c5, "7000.00", Status.ACCEPTED, sent=at(40), accepted=at(35))
        quote(c5, "300.00", Status.ACCEPTED, sent=at(40), accepted=at(2))
    with tenant_scope(tenant_b):
        leak = conversation(tenant_b, "telegram", at(1))
        quote(leak, "99999.00", Status.ACCEPTED, sent=at(1), accepted=at(1))


def test_quotes_sent_and_accepted_in_the_period_with_their_value(tenant_a, quotes_data):
    month = figures(tenant_a, 30).quotes
    assert (month.sent, month.accepted) == (3, 2)
    assert month.sent_value == {"EUR": Decimal("1500.00"), "USD": Decimal("90.00")}
    assert month.accepted_value == {"EUR": Decimal("1300.00")}
    quarter = figures(tenant_a, 90).quotes
    assert (quarter.sent, quarter.accepted) == (5, 3)
    assert quarter.accepted_value == {"EUR": Decimal("8300.00")}
    week = figures(tenant_a, 7).quotes
    assert (week.sent, week.accepted) == (3, 2)


def test_the_funnel_follows_the_period_s_conversations(tenant_a, quotes_data):
    funnel = figures(tenant_a, 30).funnel
    assert (funnel.conversations, funnel.opportunities, funnel.quotes, funnel.accepted) == (
        4,
        3,
        2,
        1,
    )
    funnel = figures(tenant_a, 90).funnel
    assert (funnel.conversations, funnel.opportunities, funnel.quotes, funnel.accepted) == (
        5,
        4,
        3,
        2,
    )


def test_the_dashboard_shows_the_quote_cards_and_the_funnel(client, owner, quotes_data):
    _login(client, owner)
    response = client.get(INDEX)
    cards = _cards(response)
    assert (cards["quotes-sent"], cards["quotes-accepted"]) == ("3", "2")
    hints = {card.key: card.hint for card in response.context["desk"]["cards"]}
    assert hints["quotes-sent"] == "EUR\xa01,500.00 + USD\xa090.00"
    assert hints["quotes-accepted"] == "EUR\xa01,300.00"
    html = response.content.decode()
    assert '<title id="desk-funnel-title">' in html
    assert "Conversations 4, Opportunities 3, Quotes sent 2, Quotes accepted 1" in html
    assert "99,999" not in html


def test_another_tenant_sees_only_its_quote(client, outsider, quotes_data):
    _login(client, outsider)
    cards = _cards(client.get(INDEX))
    assert (cards["quotes-sent"], cards["quotes-accepted"]) == ("1", "1")
