"""The conversations inbox marks a conversation whose draft quote waits for a rep ("Quote
needs approval": a badge, a filter) and tells the open inboxes live when a draft appears
and when it is approved; another tenant's inbox hears nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.urls import reverse

from crm.audit import Actor
from quotes.services import LineRequest, quote_approve, quote_prepare
from tenants.scoping import tenant_scope
from tests.factories import ConversationFactory, LeadOpportunityFactory, ProductFactory
from tests.functional.test_desk_inbox import connected, inbox_socket, signed_in

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

CHANGELIST = reverse("admin:crm_conversation_changelist")
BADGE = "Quote needs approval</span>"


@pytest.fixture(autouse=True)
def fresh_layer(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


@pytest.fixture
def opportunity(tenant_a):
    with tenant_scope(tenant_a):
        ProductFactory(tenant=tenant_a, sku="HC-2100Q", price=Decimal("1450.00"), currency="EUR")
        conversation = ConversationFactory(tenant=tenant_a)
        ConversationFactory(tenant=tenant_a)  # another conversation, without a quote
        return LeadOpportunityFactory(
            tenant=tenant_a, contact=conversation.contact, conversation=conversation
        )


def _prepare(opportunity):
    with tenant_scope(opportunity.tenant):
        return quote_prepare(
            opportunity=opportunity, lines=[LineRequest("HC-2100Q", 1)], actor=Actor.agent()
        )


def test_a_draft_quote_is_a_badge_and_a_filter_until_approved(opportunity, teammate):
    quote = _prepare(opportunity)
    client = signed_in(teammate)
    html = client.get(CHANGELIST).content.decode()
    assert html.count(BADGE) == 1
    listed = client.get(CHANGELIST, {"quote": "draft"}).context["cl"].result_list
    assert [c.pk for c in listed] == [opportunity.conversation_id]
    with tenant_scope(opportunity.tenant):
        quote_approve(quote=quote, actor=Actor.rep(teammate))
    assert BADGE not in client.get(CHANGELIST).content.decode()
    assert not client.get(CHANGELIST, {"quote": "draft"}).context["cl"].result_list


def test_the_open_inbox_hears_of_a_draft_and_of_its_approval(opportunity, teammate, outsider):
    client = signed_in(teammate)
    other = signed_in(outsider)
    holder = {}

    def approve():
        with tenant_scope(opportunity.tenant):
            quote_approve(quote=holder["quote"], actor=Actor.rep(teammate))

    def prepare():
        holder["quote"] = _prepare(opportunity)

    async def scenario():
        comm = await connected(inbox_socket(client))
        theirs = await connected(inbox_socket(other))
        await database_sync_to_async(prepare)()
        created = await comm.receive_json_from(timeout=5)
        await database_sync_to_async(approve)()
        approved = await comm.receive_json_from(timeout=5)
        assert await theirs.receive_nothing(timeout=0.3)
        await comm.disconnect()
        await theirs.disconnect()
        return created, approved

    created, approved = async_to_sync(scenario)()
    assert created["event"] == "quote_created"
    assert created["conversation"]["id"] == opportunity.conversation_id
    assert created["conversation"]["quote_draft"] is True
    assert created["notify"] is True  # the agent prepared it: a browser notification
    assert created["conversation"]["body"] == "Quote needs approval"
    assert approved["event"] == "quote_approved" and approved["notify"] is False
    assert approved["conversation"]["quote_draft"] is False
