"""The conversations inbox: its one-line rows, each member's unread counts and read marks,
and its live socket (``/ws/desk/inbox/``): a customer message, a new conversation, a flag
or a handoff reaches the open inboxes of the conversation's tenant only, with the member's
unread count and whether to notify; who may not watch is refused.

Customer messages go through the channels' inbox (``inbound_store``), as a webhook stores
them; the sockets are WebsocketCommunicators on the real ASGI application."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse

from channels_app.inbox import Inbound, inbound_store
from channels_app.models import ChannelAccount
from config.asgi import application
from crm.audit import Actor
from crm.events import DomainEvent, EventType, event_subscribe
from crm.models import Conversation, Message
from crm.services import conversation_flag, conversation_hand_off, conversation_take_over
from desk.inbox import inbox_group
from desk.models import ConversationReadMark
from desk.selectors import contact_label
from tenants.scoping import tenant_scope
from tests.factories import ChannelAccountFactory, ContactFactory, ConversationFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

CHANGELIST = reverse("admin:crm_conversation_changelist")
WAIT = 5


@pytest.fixture(autouse=True)
def fresh_layer(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


@pytest.fixture
def bot_a(tenant_a) -> ChannelAccount:
    with tenant_scope(tenant_a):
        return ChannelAccountFactory(tenant=tenant_a, name="Ventas A")


@pytest.fixture
def bot_b(tenant_b) -> ChannelAccount:
    with tenant_scope(tenant_b):
        return ChannelAccountFactory(tenant=tenant_b, name="Ventas B")


_ids = iter(range(1, 100_000))


def customer_says(account: ChannelAccount, text: str, *, address: str = "5550123") -> Message:
    inbound = Inbound(
        address=address,
        text=text,
        external_id=f"tg:inbox:{address}:{next(_ids)}",
        display_name="Ana Gómez",
    )
    with tenant_scope(account.tenant):
        message, created = inbound_store(account=account, inbound=inbound)
    assert created
    return message


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def inbox_socket(client: Client | None, origin: str = "http://localhost") -> WebsocketCommunicator:
    headers = [(b"origin", origin.encode())]
    if client is not None:
        session = client.cookies[django_settings.SESSION_COOKIE_NAME].value
        headers.append((b"cookie", f"{django_settings.SESSION_COOKIE_NAME}={session}".encode()))
    return WebsocketCommunicator(application, "/ws/desk/inbox/", headers=headers)


def conversation_socket(client: Client, conversation_id: int) -> WebsocketCommunicator:
    session = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    headers = [
        (b"origin", b"http://localhost"),
        (b"cookie", f"{django_settings.SESSION_COOKIE_NAME}={session}".encode()),
    ]
    return WebsocketCommunicator(
        application, f"/ws/desk/conversations/{conversation_id}/", headers=headers
    )


async def connected(comm: WebsocketCommunicator) -> WebsocketCommunicator:
    ok, _ = await comm.connect()
    assert ok
    return comm


async def frames_until(comm: WebsocketCommunicator, event: str) -> dict[str, Any]:
    """The first frame of ``event`` (frames of other events before it are skipped)."""
    while True:
        frame = await comm.receive_json_from(timeout=WAIT)
        if frame["event"] == event:
            return frame


# the live socket ------------------------------------------------------------------------


def test_a_new_conversation_reaches_the_members_inbox_with_unread_1_and_a_notice(bot_a, teammate):
    client = signed_in(teammate)

    async def scenario():
        comm = await connected(inbox_socket(client))
        await database_sync_to_async(customer_says)(bot_a, "Necesito un turbidímetro <b>ya</b>")
        created = await frames_until(comm, "created")
        message = await frames_until(comm, "message")
        await comm.disconnect()
        return created, message

    created, message = async_to_sync(scenario)()
    with tenant_scope(bot_a.tenant):
        conversation = Conversation.objects.get()
    assert created["type"] == "conversation" and created["notify"] is True
    item = message["conversation"]
    assert item["id"] == conversation.pk
    assert item["unread"] == 1
    assert item["title"] == "Ana Gómez · Telegram"
    assert item["body"] == "Necesito un turbidímetro <b>ya</b>"  # raw text: the page escapes
    assert item["url"] == reverse("admin:crm_conversation_change", args=[conversation.pk])
    assert message["notify"] is False  # a message of a conversation already announced


def test_a_flag_and_a_handoff_request_notify_a_take_over_does_not(bot_a, teammate, owner):
    first = customer_says(bot_a, "Hola")
    with tenant_scope(bot_a.tenant):
        conversation = Conversation.objects.get(pk=first.conversation_id)
    client = signed_in(teammate)

    def flag():
        with tenant_scope(bot_a.tenant):
            conversation_flag(conversation=conversation, reason="fallback answer: LLM down")

    def hand_off():
        with tenant_scope(bot_a.tenant):
            conversation_hand_off(
                conversation=conversation, reason="pide una persona", actor=Actor.agent()
            )

    def take_over():
        with tenant_scope(bot_a.tenant):
            conversation_take_over(conversation=conversation, actor=Actor.rep(owner))

    async def scenario():
        comm = await connected(inbox_socket(client))
        frames = []
        for change in (flag, hand_off, take_over):  # each seen before the next
            await database_sync_to_async(change)()
            frames.append(await comm.receive_json_from(timeout=WAIT))
        await comm.disconnect()
        return frames

    flagged, handed_off, taken = async_to_sync(scenario)()
    assert (flagged["event"], flagged["notify"]) == ("flagged", True)
    assert flagged["conversation"]["body"] == "fallback answer: LLM down"
    assert flagged["conversation"]["flagged"] is True
    assert (handed_off["event"], handed_off["notify"]) == ("handed_off", True)
    assert (taken["event"], taken["notify"]) == ("taken_over", False)
    assert taken["conversation"]["flagged"] is False


def test_a_member_is_not_notified_of_what_they_did(bot_a, teammate):
    first = customer_says(bot_a, "Hola")
    with tenant_scope(bot_a.tenant):
        conversation = Conversation.objects.get(pk=first.conversation_id)
    client = signed_in(teammate)

    def flag_as_teammate():
        with tenant_scope(bot_a.tenant):
            conversation_flag(
                conversation=conversation, reason="revisar precio", actor=Actor.rep(teammate)
            )

    async def scenario():
        comm = await connected(inbox_socket(client))
        await database_sync_to_async(flag_as_teammate)()
        frame = await comm.receive_json_from(timeout=WAIT)
        await comm.disconnect()
        return frame

    frame = async_to_sync(scenario)()
    assert (frame["event"], frame["notify"]) == ("flagged", False)


def test_another_tenants_inbox_hears_nothing(bot_a, bot_b, teammate, outsider):
    a_client, b_client = signed_in(teammate), signed_in(outsider)

    async def scenario():
        a_comm = await connected(inbox_socket(a_client))
        b_comm = await connected(inbox_socket(b_client))
        await database_sync_to_async(customer_says)(bot_a, "Solo para Alpha")
        heard_by_a = await frames_until(a_comm, "message")
        nothing_for_b = await b_comm.receive_nothing(timeout=0.5)
        await database_sync_to_async(customer_says)(bot_b, "Solo para Bravo")
        heard_by_b = await frames_until(b_comm, "message")
        nothing_for_a = await a_comm.receive_nothing(timeout=0.5)
        await a_comm.disconnect()
        await b_comm.disconnect()
        return heard_by_a, nothing_for_b, heard_by_b, nothing_for_a

    heard_by_a, nothing_for_b, heard_by_b, nothing_for_a = async_to_sync(scenario)()
    assert heard_by_a["conversation"]["body"] == "Solo para Alpha"
    assert heard_by_b["conversation"]["body"] == "Solo para Bravo"
    assert nothing_for_b is True and nothing_for_a is True


def test_a_notice_naming_another_tenants_conversation_sends_nothing(
    bot_b, teammate, tenant_a, outsider
):
    """Even a notice that reached the wrong group reloads in the member's tenant: nothing."""
    b_message = customer_says(bot_b, "Privado de Bravo")
    client = signed_in(teammate)

    async def scenario():
        from channels.layers import get_channel_layer

        comm = await connected(inbox_socket(client))
        await get_channel_layer().group_send(
            inbox_group(tenant_id=tenant_a.pk),
            {
                "type": "inbox.changed",
                "conversation_id": b_message.conversation_id,
                "event": "created",
            },
        )
        nothing = await comm.receive_nothing(timeout=0.5)
        await comm.disconnect()
        return nothing

    assert async_to_sync(scenario)() is True


@pytest.mark.parametrize("who", ["anonymous", "operator", "no_permission", "bad_origin"])
def test_the_inbox_socket_refuses_who_may_not_watch(who, request, teammate):
    client: Client | None = None
    if who == "operator":
        client = signed_in(request.getfixturevalue("operator"))
    elif who in ("no_permission", "bad_origin"):
        client = signed_in(teammate)
    if who == "no_permission":
        teammate.groups.clear()
    origin = "https://evil.example" if who == "bad_origin" else "http://localhost"

    async def scenario():
        comm = inbox_socket(client, origin=origin)
        ok, _ = await comm.connect()
        await comm.disconnect()
        return ok

    assert async_to_sync(scenario)() is False


def test_reading_a_conversation_updates_only_that_members_inboxes(bot_a, teammate, owner):
    first = customer_says(bot_a, "¿Precio del TU-5200?")
    teammate_client, owner_client = signed_in(teammate), signed_in(owner)
    page = reverse("admin:crm_conversation_change", args=[first.conversation_id])

    async def scenario():
        mine = await connected(inbox_socket(teammate_client))
        theirs = await connected(inbox_socket(owner_client))
        response = await database_sync_to_async(teammate_client.get)(page)
        read = await mine.receive_json_from(timeout=WAIT)
        nothing = await theirs.receive_nothing(timeout=0.5)
        await mine.disconnect()
        await theirs.disconnect()
        return response.status_code, read, nothing

    status, read, nothing = async_to_sync(scenario)()
    assert status == 200
    assert (read["event"], read["conversation"]["unread"]) == ("read", 0)
    assert nothing is True


def test_a_message_shown_on_the_open_conversation_page_is_read(bot_a, teammate):
    first = customer_says(bot_a, "Hola")
    client = signed_in(teammate)
    client.get(reverse("admin:crm_conversation_change", args=[first.conversation_id]))

    async def scenario():
        comm = await connected(conversation_socket(client, first.conversation_id))
        second = await database_sync_to_async(customer_says)(bot_a, "¿Sigue ahí?")
        frame = await comm.receive_json_from(timeout=WAIT)
        await comm.disconnect()
        return second, frame

    second, frame = async_to_sync(scenario)()
    assert frame["message"]["id"] == second.pk
    with tenant_scope(bot_a.tenant):
        mark = ConversationReadMark.objects.get(user=teammate)
    assert mark.last_read_at >= second.created_at
    response = client.get(CHANGELIST)
    [row] = response.context["cl"].result_list
    assert row.unread_total == 0


def test_message_add_publishes_message_created_after_the_commit(bot_a):
    received: list[DomainEvent] = []
    unsubscribe = event_subscribe(received.append, types=[EventType.MESSAGE_CREATED])
    try:
        message = customer_says(bot_a, "Hola")
    finally:
        unsubscribe()
    [event] = received
    assert (event.tenant_id, event.subject_id) == (bot_a.tenant_id, message.pk)
    assert event.data == {"conversation_id": message.conversation_id, "role": "user"}
    assert event.actor_kind == "system"


# the list ------------------------------------------------------------------------------


def test_the_list_is_one_line_per_conversation_and_visitors_differ(client, tenant_a, teammate):
    with tenant_scope(tenant_a):
        visitors = [
            ContactFactory(
                tenant=tenant_a,
                full_name=f"Web visitor {key}",
                email="",
                platform="widget",
                division=None,
            )
            for key in ("tH8ymA", "tH8ymB")
        ]
        named = ContactFactory(tenant=tenant_a, full_name="Laura Gómez", division=None)
        for contact in [*visitors, named]:
            ConversationFactory(
                tenant=tenant_a,
                contact=contact,
                channel="widget",
                needs_attention=contact is named,
                attention_reason="handoff requested: quiere una persona y un presupuesto",
            )
    client.force_login(teammate)
    html = client.get(CHANGELIST).content.decode()
    labels = [contact_label(c) for c in visitors]
    assert labels == [f"Web visitor · #{visitors[0].pk}", f"Web visitor · #{visitors[1].pk}"]
    for label in labels:
        assert f'<strong class="desk-who desk-anonymous">{label}</strong>' in html
    assert '<strong class="desk-who">Laura Gómez</strong>' in html
    # The flag's whole reason is on hover; the badge is short.
    assert 'title="handoff requested: quiere una persona y un presupuesto">⚑ Flagged' in html
    for column in ("contact_line", "status_flag", "assigned_rep_name", "unread", "last_activity"):
        assert f"column-{column}" in html
    assert "column-company" not in html and "column-last_message" not in html
    assert 'id="desk-inbox" data-ws-path="/ws/desk/inbox/"' in html
    assert "desk/inbox.js" in html and 'id="desk-notify"' in html


def test_operators_read_the_list_without_the_live_socket(client, rows_a, operator):
    client.force_login(operator)
    html = client.get(CHANGELIST).content.decode()
    assert 'id="desk-inbox" data-ws-path=""' in html


def test_the_list_shows_the_assigned_rep_by_name(client, tenant_a, teammate, owner):
    teammate.first_name, teammate.last_name = "Marta", "Ruiz"
    teammate.save()
    with tenant_scope(tenant_a):
        ConversationFactory(tenant=tenant_a, assigned_rep=teammate)
        ConversationFactory(tenant=tenant_a, assigned_rep=owner)
    client.force_login(teammate)
    html = client.get(CHANGELIST).content.decode()
    assert '<td class="field-assigned_rep_name">Marta Ruiz</td>' in html
    assert f'<td class="field-assigned_rep_name">{owner.email}</td>' in html  # no name: e-mail


def test_a_read_mark_only_moves_forward(tenant_a, teammate):
    from datetime import timedelta

    from django.utils import timezone

    from desk.services import conversation_mark_read

    now = timezone.now()
    with tenant_scope(tenant_a):
        conversation = ConversationFactory(tenant=tenant_a)
        assert conversation_mark_read(conversation=conversation, user=teammate, at=now) is True
        earlier = now - timedelta(minutes=5)
        assert conversation_mark_read(conversation=conversation, user=teammate, at=earlier) is False
        assert conversation_mark_read(conversation=conversation, user=teammate, at=now) is False
        [mark] = ConversationReadMark.objects.filter(conversation=conversation)
    assert (mark.user, mark.last_read_at, mark.tenant) == (teammate, now, tenant_a)
