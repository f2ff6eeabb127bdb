"""The desk's dashboard on the admin index: figures on known data, periods, tenants, roles."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.models import Conversation, LeadOpportunity, Message
from desk.dashboard import dashboard_get
from tenants.models import Tenant
from tenants.scoping import tenant_scope
from tests.conftest import PASSWORD
from tests.factories import (
    ContactFactory,
    ConversationFactory,
    LeadOpportunityFactory,
    MessageFactory,
    ProductFactory,
    RecommendationFactory,
)
from tests.helpers import password_login

pytestmark = pytest.mark.django_db

NOW = timezone.now()
INDEX = reverse("admin:index")
USER, BOT, REP = Message.Role.USER, Message.Role.ASSISTANT, Message.Role.AGENT


def day(days_ago: int) -> date:
    return timezone.localtime(NOW).date() - timedelta(days=days_ago)


def at(days_ago: int, hour: int = 10, minute: int = 0, second: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(day(days_ago), time(hour, minute, second)))


def _backdate(obj, when: datetime) -> None:
    type(obj).objects.filter(pk=obj.pk).update(created_at=when, updated_at=when)


def conversation(tenant: Tenant, channel: str, when: datetime, **fields) -> Conversation:
    contact = ContactFactory(tenant=tenant, platform=channel)
    conv = ConversationFactory(tenant=tenant, contact=contact, channel=channel, **fields)
    _backdate(conv, when)
    return conv


def message(conv: Conversation, role: str, when: datetime, **fields) -> Message:
    msg = MessageFactory(tenant=conv.tenant, conversation=conv, role=role, **fields)
    _backdate(msg, when)
    return msg


def opportunity(tenant: Tenant, status: str, when: datetime, products=()) -> LeadOpportunity:
    opp = LeadOpportunityFactory(tenant=tenant, status=status, conversation=None)
    _backdate(opp, when)
    for product in products:
        rec = RecommendationFactory(tenant=tenant, opportunity=opp, product=product)
        _backdate(rec, when)
    return opp


def build_tenant_a(tenant: Tenant) -> None:
    """Known figures; see the assertions for what each row contributes."""
    with tenant_scope(tenant):
        c1 = conversation(tenant, "telegram", at(1, 10))
        message(c1, USER, at(1, 10, 0, 0))
        message(c1, BOT, at(1, 10, 0, 20))  # 20 s
        message(c1, USER, at(1, 10, 5))
        message(c1, BOT, at(1, 10, 9))
        c2 = conversation(tenant, "telegram", at(1, 11), status=Conversation.Status.HANDED_OFF)
        message(c2, USER, at(1, 11, 0, 0))
        message(c2, REP, at(1, 11, 2, 0))  # 120 s, a rep
        c3 = conversation(tenant, "whatsapp", at(3, 9), needs_attention=True)
        message(c3, USER, at(3, 9, 0, 0))
        message(c3, BOT, at(3, 9, 0, 5), answer_mode="fallback")  # 5 s, a fallback
        c4 = conversation(
            tenant,
            "widget",
            at(3, 8),
            status=Conversation.Status.CLOSED,
            attention_reason="handoff requested: formal quote",
        )
        message(c4, BOT, at(3, 8, 59, 0))  # a greeting before the customer: not a response
        message(c4, USER, at(3, 9, 0, 0))
        message(c4, BOT, at(3, 9, 1, 0))  # 60 s
        c5 = conversation(tenant, "api", at(5, 14))
        message(c5, USER, at(5, 14))  # never answered: no first response
        conversation(tenant, "widget", at(10, 12))  # inside 30 days, outside 7
        c7 = conversation(tenant, "telegram", at(40, 9))  # inside 90 days only
        message(c7, USER, at(40, 9, 0, 0))
        message(c7, BOT, at(40, 9, 16, 40), answer_mode="fallback")  # 1000 s, a fallback

        p_a = ProductFactory(tenant=tenant, sku="HL-A", name="Turbidímetro A")
        p_b = ProductFactory(tenant=tenant, sku="HL-B", name="Medidor de pH B")
        p_c = ProductFactory(tenant=tenant, sku="HL-C", name="Conductímetro C")
        opportunity(tenant, LeadOpportunity.Status.QUALIFIED, at(2), [p_a, p_b, p_c])
        opportunity(tenant, LeadOpportunity.Status.QUALIFIED, at(2, 12), [p_a, p_b])
        opportunity(tenant, LeadOpportunity.Status.NEEDS_EXPERT, at(6), [p_a])
        opportunity(tenant, LeadOpportunity.Status.CLOSED, at(45), [p_c])
        opportunity(tenant, LeadOpportunity.Status.CLOSED, at(50), [p_c])


def build_tenant_b(tenant: Tenant) -> None:
    """Rows that would change every figure of tenant A if they leaked."""
    with tenant_scope(tenant):
        for channel in ("telegram", "whatsapp", "widget", "api"):
            conv = conversation(tenant, channel, at(1), status=Conversation.Status.HANDED_OFF)
            message(conv, USER, at(1, 10))
            message(conv, BOT, at(1, 15), answer_mode="fallback")
        leak = ProductFactory(tenant=tenant, sku="BRAVO-LEAK", name="Bravo only")
        for _ in range(4):
            opportunity(tenant, LeadOpportunity.Status.CLOSED, at(1), [leak])


@pytest.fixture
def known_data(tenant_a, tenant_b) -> None:
    build_tenant_a(tenant_a)
    build_tenant_b(tenant_b)


def figures(tenant: Tenant, days: int):
    with tenant_scope(tenant):
        return dashboard_get(tenant=tenant, days=days, now=NOW)


def test_conversations_by_channel_per_day(tenant_a, known_data):
    board = figures(tenant_a, 30)
    assert board.conversations.by_day == {
        day(1): {"telegram": 2},
        day(3): {"whatsapp": 1, "widget": 1},
        day(5): {"api": 1},
        day(10): {"widget": 1},
    }
    assert board.conversations.total == 6
    assert board.conversations.by_channel() == {"telegram": 2, "whatsapp": 1, "widget": 2, "api": 1}


def test_handoffs_fallbacks_and_opportunities_by_status(tenant_a, known_data):
    board = figures(tenant_a, 30)
    assert board.conversations.handoffs_by_day == {day(1): 1, day(3): 1}
    assert board.fallbacks_by_day == {day(3): 1}
    assert board.opportunities_by_status == {
        "qualified": 2,
        "needs_expert": 1,
        "quoted": 0,
        "won": 0,
        "closed": 0,
    }
    assert board.opportunities == 3


def test_top_products_by_number_of_recommendations(tenant_a, known_data):
    top = figures(tenant_a, 30).top_products
    assert [(p.sku, p.name, p.recommendations) for p in top] == [
        ("HL-A", "Turbidímetro A", 3),
        ("HL-B", "Medidor de pH B", 2),
        ("HL-C", "Conductímetro C", 1),
    ]
    # Over 90 days HL-C ties HL-A; ties go by SKU.
    top_90 = figures(tenant_a, 90).top_products
    assert [(p.sku, p.recommendations) for p in top_90] == [("HL-A", 3), ("HL-C", 3), ("HL-B", 2)]


def test_top_products_are_capped_at_ten(tenant_a):
    with tenant_scope(tenant_a):
        products = [ProductFactory(tenant=tenant_a) for _ in range(12)]
        opportunity(tenant_a, LeadOpportunity.Status.QUALIFIED, at(1), products)
    assert len(figures(tenant_a, 30).top_products) == 10


def test_median_first_response(tenant_a, known_data):
    board = figures(tenant_a, 30)
    assert sorted(d.total_seconds() for d in board.first_responses) == [5, 20, 60, 120]
    assert board.median_first_response == timedelta(seconds=40)
    assert figures(tenant_a, 90).median_first_response == timedelta(seconds=60)


def test_the_period_excludes_older_data(tenant_a, known_data):
    week, quarter = figures(tenant_a, 7), figures(tenant_a, 90)
    assert week.conversations.total == 5
    assert day(10) not in week.conversations.by_day
    assert week.opportunities_by_status == {
        "qualified": 2,
        "needs_expert": 1,
        "quoted": 0,
        "won": 0,
        "closed": 0,
    }
    assert quarter.conversations.total == 7
    assert quarter.fallbacks == 2
    assert quarter.opportunities_by_status["closed"] == 2
    assert week.period.start == at(6, 0)
    assert len(week.period.dates) == 7 and week.period.dates[-1] == day(0)


def test_the_figures_take_seven_queries(tenant_a, known_data, django_assert_num_queries):
    with django_assert_num_queries(7):
        figures(tenant_a, 90)


def _login(client, user) -> None:
    assert password_login(client, user.username, PASSWORD)


def _cards(response) -> dict[str, str]:
    return {card.key: card.value for card in response.context["desk"]["cards"]}


@pytest.mark.parametrize("member", ["owner", "teammate"])
def test_the_tenant_admin_and_the_rep_see_their_tenants_figures(
    client, request, member, known_data
):
    _login(client, request.getfixturevalue(member))
    response = client.get(INDEX)
    assert response.status_code == 200
    assert _cards(response) == {
        "conversations": "6",
        "opportunities": "3",
        "handoffs": "2",
        "fallbacks": "1",
        "first-response": "40 s",
        "quotes-sent": "0",
        "quotes-accepted": "0",
    }
    html = response.content.decode()
    assert "HL-A" in html and "Turbidímetro A" in html
    assert "BRAVO-LEAK" not in html and "Bravo only" not in html
    assert 'role="img"' in html and '<title id="desk-channels-title">' in html
    assert "last 30 days" in html
    assert 'id="content-main"' in html  # the app list is still there


def test_tenant_b_member_sees_only_tenant_b(client, outsider, known_data):
    _login(client, outsider)
    response = client.get(INDEX)
    cards = _cards(response)
    assert (cards["conversations"], cards["handoffs"], cards["fallbacks"]) == ("4", "4", "4")
    assert cards["opportunities"] == "4"
    html = response.content.decode()
    assert "BRAVO-LEAK" in html and "HL-A" not in html


def test_the_period_comes_from_the_query_string(client, owner, known_data):
    _login(client, owner)
    assert _cards(client.get(INDEX, {"days": "7"}))["conversations"] == "5"
    assert _cards(client.get(INDEX, {"days": "90"}))["conversations"] == "7"
    response = client.get(INDEX, {"days": "365"})  # not offered: the default
    assert response.context["desk"]["period_days"] == 30
    current = [p.days for p in response.context["desk"]["periods"] if p.is_current]
    assert current == [30]
    assert 'href="?days=7"' in response.content.decode()


def test_the_page_renders_with_no_data(client, owner):
    _login(client, owner)
    response = client.get(INDEX)
    assert response.status_code == 200
    assert _cards(response) == {
        "conversations": "0",
        "opportunities": "0",
        "handoffs": "0",
        "fallbacks": "0",
        "first-response": "—",
        "quotes-sent": "0",
        "quotes-accepted": "0",
    }
    assert "No product was recommended in this period." in response.content.decode()


def test_a_superuser_picks_a_tenant(client, operator, tenant_a, tenant_b, known_data):
    _login(client, operator)
    plain = client.get(INDEX)
    assert plain.status_code == 200
    assert "desk" not in plain.context
    assert [t.slug for t in plain.context["desk_tenants"]] == ["alpha", "bravo"]
    assert 'name="tenant"' in plain.content.decode()

    chosen = client.get(INDEX, {"tenant": "alpha", "days": "7"})
    assert chosen.context["desk"]["tenant"] == tenant_a
    assert _cards(chosen)["conversations"] == "5"
    assert 'href="?tenant=alpha&amp;days=90"' in chosen.content.decode()

    other = client.get(INDEX, {"tenant": "bravo"})
    assert _cards(other)["conversations"] == "4"

    unknown = client.get(INDEX, {"tenant": "nope"})
    assert unknown.status_code == 200 and "desk" not in unknown.context


def test_the_dashboard_css_is_linked_and_served(client, owner):
    _login(client, owner)
    assert "/static/desk/dashboard.css" in client.get(INDEX).content.decode()
    css = client.get("/static/desk/dashboard.css")
    assert css.status_code == 200
    assert b"var(--body-bg)" in b"".join(css.streaming_content)
