"""The durable inbox on a real database: storing once, the per-conversation lease, the
delivery claim, crash recovery and the task, with the agent on a fake LLM or the fallback.

Replies go through "api" routes (no outbound transport: a claim marks them sent) or,
where only the claim is exercised, a Telegram route (claimed, never sent here).
"""

from __future__ import annotations

import asyncio
import io
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from channels_app.inbox import (
    Inbound,
    Stored,
    conversation_answer,
    conversation_deliver,
    delivery_claim,
    delivery_finish,
    inbound_events_resolve,
    inbound_events_store,
    inbound_store,
    inbound_store_unsupported,
    lease_acquire,
    lease_renew,
)
from channels_app.inbox import store as inbox_store
from channels_app.models import ChannelAccount, ConversationRoute, InboundEvent
from channels_app.services import channel_account_ensure
from channels_app.tasks import (
    conversation_answer_enqueue,
    inbound_resolve_enqueue,
    inbox_recover,
)
from channels_app.transport import SendResult
from crm.models import Contact, Conversation, Message
from crm.services import conversation_open, message_add
from tenants.models import Tenant
from tenants.scoping import scopes_disabled, tenant_scope

pytestmark = pytest.mark.django_db

TASK_PATH = "channels_app.tasks.conversation_answer_task"
RESOLVE_PATH = "channels_app.tasks.inbound_resolve_task"


def account_for(tenant: Tenant, kind: str = "api", name: str = "CRM") -> ChannelAccount:
    values = {"bot_token": "123:AAtest"} if kind == "telegram" else {}
    with tenant_scope(tenant):
        return channel_account_ensure(tenant=tenant, kind=kind, name=name, values=values)[0]


@pytest.fixture
def api_a(tenant_a: Tenant) -> ChannelAccount:
    return account_for(tenant_a)


def receive(
    account: ChannelAccount, text: str, external_id: str, address: str = "cust-1", **extra: Any
) -> tuple[Message, bool]:
    with tenant_scope(account.tenant):
        inbound = Inbound(address=address, text=text, external_id=external_id, **extra)
        return inbound_store(account=account, inbound=inbound)


def answer(tenant: Tenant, conversation_id: int) -> int:
    return async_to_sync(conversation_answer)(tenant=tenant, conversation_id=conversation_id)


def queued(path: str = TASK_PATH) -> list[list[Any]]:
    """The calls of a task waiting in the database queue (conversation_answer_task's:
    [tenant, conversation])."""
    return sorted(r.args_kwargs["args"] for r in DBTaskResult.objects.filter(task_path=path))


def age(queryset: Any, seconds: float, *fields: str) -> None:
    """Move rows' timestamps into the past (``update`` leaves auto_now alone)."""
    when = timezone.now() - timedelta(seconds=seconds)
    queryset.update(**{field: when for field in fields or ("created_at",)})


def reply_in(tenant: Tenant, conversation_id: int, text: str = "") -> Message:
    with tenant_scope(tenant):
        conversation = Conversation.objects.get(pk=conversation_id)
        return message_add(conversation=conversation, role=Message.Role.ASSISTANT, content=text)


# Storing -------------------------------------------------------------------------------


def test_inbound_is_stored_once_with_its_contact_conversation_and_route(
    api_a, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        first, created = receive(
            api_a, "Hola", "ext:1", display_name="Ana Ruiz", metadata={"tier": "VIP"}
        )
    # the live notice for reps (the caller answers), besides crm's domain events
    own = [callback for callback in callbacks if callback.__module__ != "crm.events"]
    assert created and len(own) == 1
    with django_capture_on_commit_callbacks() as callbacks:
        again, created_again = receive(api_a, "Hola (otra vez)", "ext:1")
    assert not created_again and again.pk == first.pk
    assert callbacks == []  # a redelivery enqueues nothing

    with tenant_scope(api_a.tenant):
        contact = Contact.objects.get()
        assert (contact.platform, contact.platform_user_id, contact.full_name) == (
            "api",
            "cust-1",
            "Ana Ruiz",
        )
        conversation = Conversation.objects.get()
        assert (conversation.contact, conversation.channel) == (contact, "api")
        route = ConversationRoute.objects.get()
        assert (route.conversation, route.account, route.address) == (
            conversation,
            api_a,
            "cust-1",
        )
        message = Message.objects.get()
        assert (message.content, message.metadata) == ("Hola", {"tier": "VIP"})
        assert message.delivery_status == Message.Delivery.RECEIVED
        assert message.handled_at is None


def test_a_second_message_joins_the_conversation(api_a):
    first, _ = receive(api_a, "Hola", "ext:1")
    second, _ = receive(api_a, "¿Tienen turbidímetros?", "ext:2")
    third, _ = receive(api_a, "Hola", "ext:3", address="cust-2")
    assert second.conversation_id == first.conversation_id
    assert third.conversation_id != first.conversation_id
    with tenant_scope(api_a.tenant):
        assert Contact.objects.count() == 2 and ConversationRoute.objects.count() == 2


def test_webhook_events_and_their_resolve_task_commit_together(
    api_a, django_capture_on_commit_callbacks
):
    def store(*external_ids: str, address: str = "cust-1") -> Stored:
        inbounds = [Inbound(address=address, text="Hola", external_id=e) for e in external_ids]
        with tenant_scope(api_a.tenant):
            stored = inbound_events_store(account=api_a, inbounds=inbounds)
            inbound_resolve_enqueue(account=api_a, addresses=stored.addresses)
        return stored

    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        store("ext:rolled-back")
        # the task row is written in the events' transaction: both commit or neither
        assert queued(RESOLVE_PATH) == [[api_a.tenant_id, api_a.pk, "cust-1"]]
        raise RuntimeError("the edge failed after storing")
    assert queued(RESOLVE_PATH) == []
    with tenant_scope(api_a.tenant):
        assert not InboundEvent.all_objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        stored = store("ext:1", "ext:2", "ext:1")  # two messages of one chat, one repeated
    assert (stored.stored, stored.duplicates, stored.addresses) == (2, 1, ["cust-1"])
    assert queued(RESOLVE_PATH) == [[api_a.tenant_id, api_a.pk, "cust-1"]]  # one task per chat
    with django_capture_on_commit_callbacks(execute=True):
        again = store("ext:2", "ext:3", address="cust-2")
    assert (again.stored, again.duplicates, again.addresses) == (1, 1, ["cust-2"])
    with tenant_scope(api_a.tenant):
        assert InboundEvent.objects.count() == 3
        assert not Message.all_objects.exists()  # nothing resolved on the acknowledgement path


def test_resolving_stores_a_chats_events_in_order_once(api_a, fake_llm):
    inbounds = [
        Inbound(address="cust-1", text=f"mensaje {n}", external_id=f"ext:{n}") for n in range(3)
    ]
    with tenant_scope(api_a.tenant):
        inbound_events_store(account=api_a, inbounds=inbounds)
        [conversation_id] = inbound_events_resolve(account_id=api_a.pk, address="cust-1")
        assert inbound_events_resolve(account_id=api_a.pk, address="cust-1") == []  # once
        contents = list(
            Message.objects.filter(conversation_id=conversation_id).values_list(
                "content", flat=True
            )
        )
        assert contents == ["mensaje 0", "mensaje 1", "mensaje 2"]
        assert not InboundEvent.objects.filter(processed_at__isnull=True).exists()


class _LateMessage:
    """``Message`` as ``inbox`` sees it, except that the first redelivery check misses:
    as if another worker committed the same message right after that check."""

    def __init__(self) -> None:
        self.checked = False

    def __getattr__(self, name: str) -> Any:
        return getattr(Message, name)

    @property
    def all_objects(self) -> Any:
        if self.checked:
            return Message.all_objects
        self.checked = True

        class _Miss:
            def filter(self, **kwargs: Any) -> _Miss:
                return self

            def first(self) -> None:
                return None

        return _Miss()


@pytest.mark.parametrize("store", ["inbound_store", "inbound_store_unsupported"])
def test_a_concurrent_redelivery_hits_the_unique_constraint_and_is_recognised(
    api_a, monkeypatch, django_capture_on_commit_callbacks, store
):
    first, _ = receive(api_a, "Hola", "ext:race")
    monkeypatch.setattr(inbox_store, "Message", _LateMessage())
    with tenant_scope(api_a.tenant), django_capture_on_commit_callbacks() as callbacks:
        inbound = Inbound(address="cust-1", text="Hola", external_id="ext:race")
        if store == "inbound_store":
            message, created = inbound_store(account=api_a, inbound=inbound)
        else:
            message, created = inbound_store_unsupported(account=api_a, inbound=inbound, reply="x")
    assert (message.pk, created) == (first.pk, False)
    assert callbacks == []  # the loser enqueues nothing
    with tenant_scope(api_a.tenant):
        assert list(Message.all_objects.values_list("pk", flat=True)) == [first.pk]
        assert Contact.all_objects.count() == 1 and Conversation.all_objects.count() == 1


# One turn at a time --------------------------------------------------------------------


def test_the_fallback_answers_when_no_llm_key_is_set(api_a):
    message, _ = receive(api_a, "Necesito un medidor de pH", "ext:1")
    assert answer(api_a.tenant, message.conversation_id) == 1
    with tenant_scope(api_a.tenant):
        message.refresh_from_db()
        assert message.handled_at is not None
        reply = Message.objects.get(role=Message.Role.ASSISTANT)
        assert reply.answer_mode == "fallback"
        # an "api" route has no outbound sender: the claim marks it sent
        assert reply.delivery_status == Message.Delivery.SENT
        conversation = Conversation.objects.get()
        assert conversation.needs_attention
        assert conversation.turn_lease_until is None and conversation.turn_lease_token == ""
    # nothing is waiting: another run answers nothing
    assert answer(api_a.tenant, message.conversation_id) == 0


def test_a_held_lease_answers_nothing(api_a, fake_llm):
    message, _ = receive(api_a, "Hola", "ext:1")
    with tenant_scope(api_a.tenant):
        until = timezone.now() + timedelta(minutes=5)
        Conversation.objects.update(turn_lease_until=until, turn_lease_token="other-worker")
    assert answer(api_a.tenant, message.conversation_id) == 0
    assert fake_llm.requests == []
    with tenant_scope(api_a.tenant):
        message.refresh_from_db()
        assert message.handled_at is None
        assert not Message.objects.filter(role=Message.Role.ASSISTANT).exists()
        # the other worker's lease is left alone
        assert Conversation.objects.get().turn_lease_token == "other-worker"


def test_an_expired_lease_is_taken_over(api_a, fake_llm):
    fake_llm.text("Hola, ¿en qué puedo ayudarle?")
    message, _ = receive(api_a, "Hola", "ext:1")
    with tenant_scope(api_a.tenant):
        expired = timezone.now() - timedelta(seconds=1)
        Conversation.objects.update(turn_lease_until=expired, turn_lease_token="crashed")
    assert answer(api_a.tenant, message.conversation_id) == 1
    assert len(fake_llm.requests) == 1
    with tenant_scope(api_a.tenant):
        reply = Message.objects.get(role=Message.Role.ASSISTANT)
        assert (reply.content, reply.answer_mode) == ("Hola, ¿en qué puedo ayudarle?", "llm")
        conversation = Conversation.objects.get()
        assert conversation.turn_lease_until is None and conversation.turn_lease_token == ""


def test_messages_that_arrive_during_a_turn_are_answered_together_next(api_a, fake_llm):
    fake_llm.text("Respuesta uno", delay=0.5).text("Respuesta dos")
    first, _ = receive(api_a, "Hola", "ext:1")
    tenant = api_a.tenant

    async def meanwhile() -> None:
        while not fake_llm.requests:  # the first turn is with the LLM now
            await asyncio.sleep(0.01)
        await sync_to_async(receive)(api_a, "Necesito un turbidímetro", "ext:2")
        await sync_to_async(receive)(api_a, "hasta 1000 NTU", "ext:3")

    async def both() -> int:
        answered, _ = await asyncio.gather(
            conversation_answer(tenant=tenant, conversation_id=first.conversation_id),
            meanwhile(),
        )
        return answered

    assert async_to_sync(both)() == 2
    assert len(fake_llm.requests) == 2
    assert [m for m in fake_llm.requests[0].body["messages"] if m["role"] == "user"] == [
        {"role": "user", "content": "Hola"}
    ]
    second_turn = [m["content"] for m in fake_llm.requests[1].body["messages"][1:]]
    assert set(second_turn) == {
        "Hola",
        "Respuesta uno",
        "Necesito un turbidímetro",
        "hasta 1000 NTU",
    }
    with tenant_scope(tenant):
        replies = Message.objects.filter(role=Message.Role.ASSISTANT).order_by("pk")
        assert [r.content for r in replies] == ["Respuesta uno", "Respuesta dos"]
        assert not Message.objects.filter(role=Message.Role.USER, handled_at=None).exists()


def test_the_next_turn_ends_with_the_messages_it_answers(api_a, fake_llm):
    fake_llm.text("Respuesta uno", delay=0.3).text("Respuesta dos")
    first, _ = receive(api_a, "Hola", "ext:1")

    async def meanwhile() -> None:
        while not fake_llm.requests:
            await asyncio.sleep(0.01)
        await sync_to_async(receive)(api_a, "Necesito un turbidímetro", "ext:2")

    async def both() -> None:
        await asyncio.gather(
            conversation_answer(tenant=api_a.tenant, conversation_id=first.conversation_id),
            meanwhile(),
        )

    async_to_sync(both)()
    second_turn = fake_llm.requests[1].body["messages"][1:]
    assert [(m["role"], m["content"]) for m in second_turn] == [
        ("user", "Hola"),
        ("assistant", "Respuesta uno"),
        ("user", "Necesito un turbidímetro"),
    ]


def test_metadata_of_the_waiting_messages_reaches_the_prompt(api_a, fake_llm):
    fake_llm.text("ok")
    message, _ = receive(api_a, "Hola", "ext:1", metadata={"tier": "VIP", "ticket": "failing"})
    answer(api_a.tenant, message.conversation_id)
    prompt = fake_llm.requests[0].system_prompt
    assert '<data name="metadata">\nticket: failing\ntier: VIP\n</data>' in prompt


def test_unsupported_message_gets_its_canned_reply_without_a_turn(api_a, fake_llm):
    with tenant_scope(api_a.tenant):
        message, created = inbound_store_unsupported(
            account=api_a,
            inbound=Inbound(address="cust-1", text="[photo]", external_id="ext:photo"),
            reply="Solo puedo leer texto.",
        )
        again, created_again = inbound_store_unsupported(
            account=api_a,
            inbound=Inbound(address="cust-1", text="[photo]", external_id="ext:photo"),
            reply="Solo puedo leer texto.",
        )
    assert created and not created_again and again.pk == message.pk
    assert answer(api_a.tenant, message.conversation_id) == 0  # no turn, no LLM call
    assert fake_llm.requests == []
    with tenant_scope(api_a.tenant):
        message.refresh_from_db()
        assert message.handled_at is not None
        reply = Message.objects.get(role=Message.Role.ASSISTANT)
        assert reply.content == "Solo puedo leer texto."
        assert reply.delivery_status == Message.Delivery.SENT  # delivered by the run


def test_a_handed_off_conversation_gets_no_bot_turn(api_a, fake_llm):
    message, _ = receive(api_a, "Quiero hablar con una persona", "ext:1")
    with tenant_scope(api_a.tenant):
        Conversation.objects.update(status=Conversation.Status.HANDED_OFF)
    assert answer(api_a.tenant, message.conversation_id) == 0
    assert fake_llm.requests == []
    with tenant_scope(api_a.tenant):
        message.refresh_from_db()
        assert message.handled_at is not None  # the rep's now: not picked up again
        assert not Message.objects.filter(role=Message.Role.ASSISTANT).exists()


# Delivery ------------------------------------------------------------------------------


@pytest.fixture
def telegram_conversation(tenant_a: Tenant) -> Conversation:
    bot = account_for(tenant_a, kind="telegram", name="Bot")
    message, _ = receive(bot, "Hola", "tg:1", address="777")
    with tenant_scope(tenant_a):
        return Conversation.objects.get(pk=message.conversation_id)


def test_a_reply_is_claimed_for_sending_at_most_once(tenant_a, telegram_conversation):
    reply = reply_in(tenant_a, telegram_conversation.pk, "Hola, ¿en qué le ayudo?")
    with tenant_scope(tenant_a):
        claimed = delivery_claim(message_id=reply.pk)
        assert claimed is not None
        message, route = claimed
        assert (message.pk, route.address, route.account.kind) == (reply.pk, "777", "telegram")
        assert Message.objects.get(pk=reply.pk).delivery_status == Message.Delivery.SENDING
        assert delivery_claim(message_id=reply.pk) is None  # a second worker gets nothing

        delivery_finish(message=message, result=SendResult(ok=True, external_ids=["tg-out:1"]))
        reply.refresh_from_db()
        assert (reply.delivery_status, reply.external_id) == (Message.Delivery.SENT, "tg-out:1")
        assert delivery_claim(message_id=reply.pk) is None


def test_a_failed_send_is_recorded_and_flags_the_conversation(tenant_a, telegram_conversation):
    reply = reply_in(tenant_a, telegram_conversation.pk, "Hola")
    with tenant_scope(tenant_a):
        message, _ = delivery_claim(message_id=reply.pk)
        delivery_finish(
            message=message,
            result=SendResult(ok=False, error="Forbidden: bot was blocked", permanent=True),
        )
        reply.refresh_from_db()
        assert reply.delivery_status == Message.Delivery.FAILED
        assert reply.delivery_error == "Forbidden: bot was blocked"
        conversation = Conversation.objects.get(pk=telegram_conversation.pk)
        assert conversation.needs_attention
        assert "bot was blocked" in conversation.attention_reason


def test_a_transient_failure_is_retried_later_not_slept_on(
    tenant_a, telegram_conversation, settings
):
    settings.CHANNEL_SEND_RETRIES, settings.CHANNEL_SEND_BACKOFF = 2, 10.0
    reply = reply_in(tenant_a, telegram_conversation.pk, "Hola")
    with tenant_scope(tenant_a):
        message, _ = delivery_claim(message_id=reply.pk)
        before = timezone.now()
        delivered = delivery_finish(
            message=message,
            result=SendResult(ok=False, error="HTTP 502", external_ids=["tg-out:1"]),
        )
        reply.refresh_from_db()
        assert delivered.status == "retry" and delivered.retry_at is not None
        assert before + timedelta(seconds=10) <= delivered.retry_at
        assert delivered.retry_at <= before + timedelta(seconds=16)  # backoff with jitter
        assert (reply.delivery_status, reply.delivery_attempts) == (Message.Delivery.PENDING, 1)
        assert (reply.next_attempt_at, reply.pieces_sent) == (delivered.retry_at, 1)
        assert reply.external_id == "tg-out:1"  # the piece that went out is remembered
        assert delivery_claim(message_id=reply.pk) is None  # not due yet
        assert not Conversation.objects.get(pk=telegram_conversation.pk).needs_attention

        # the platform's Retry-After wins over the backoff
        Message.objects.filter(pk=reply.pk).update(next_attempt_at=timezone.now())
        message, _ = delivery_claim(message_id=reply.pk)
        delivered = delivery_finish(
            message=message, result=SendResult(ok=False, error="429", retry_after=3)
        )
        assert delivered.retry_at is not None
        assert delivered.retry_at - timezone.now() < timedelta(seconds=3.5)

        # the last retry fails for good and flags the conversation
        Message.objects.filter(pk=reply.pk).update(next_attempt_at=timezone.now())
        message, _ = delivery_claim(message_id=reply.pk)
        delivered = delivery_finish(message=message, result=SendResult(ok=False, error="HTTP 502"))
        reply.refresh_from_db()
        assert delivered.status == "failed" and reply.delivery_attempts == 3
        assert reply.delivery_status == Message.Delivery.FAILED
        assert Conversation.objects.get(pk=telegram_conversation.pk).needs_attention


def test_a_reply_waiting_for_its_retry_holds_back_later_replies(api_a, settings):
    message, _ = receive(api_a, "Hola", "ext:1")
    with tenant_scope(api_a.tenant):
        Message.objects.filter(pk=message.pk).update(handled_at=timezone.now())
    first = reply_in(api_a.tenant, message.conversation_id, "Primera")
    second = reply_in(api_a.tenant, message.conversation_id, "Segunda")
    later = timezone.now() + timedelta(minutes=1)
    with tenant_scope(api_a.tenant):
        Message.objects.filter(pk=first.pk).update(next_attempt_at=later)
        assert async_to_sync(conversation_deliver)(message.conversation_id) == later
        second.refresh_from_db()
        assert second.delivery_status == Message.Delivery.PENDING  # it does not overtake
        Message.objects.filter(pk=first.pk).update(next_attempt_at=timezone.now())
        assert async_to_sync(conversation_deliver)(message.conversation_id) is None
        assert set(
            Message.objects.filter(pk__in=[first.pk, second.pk]).values_list(
                "delivery_status", flat=True
            )
        ) == {Message.Delivery.SENT}


def test_a_turn_renews_its_lease_and_a_lost_lease_is_noticed(api_a):
    message, _ = receive(api_a, "Hola", "ext:1")
    with tenant_scope(api_a.tenant):
        assert lease_acquire(conversation_id=message.conversation_id, token="mine")
        conversation = Conversation.objects.get(pk=message.conversation_id)
        age(Conversation.objects.filter(pk=conversation.pk), 0, "turn_lease_until")
        assert lease_renew(conversation_id=conversation.pk, token="mine")
        renewed = Conversation.objects.get(pk=conversation.pk).turn_lease_until
        assert renewed > timezone.now() + timedelta(seconds=1)
        assert not lease_renew(conversation_id=conversation.pk, token="someone else")


def test_a_bot_reply_is_not_sent_once_a_rep_took_over(tenant_a, telegram_conversation):
    bot_reply = reply_in(tenant_a, telegram_conversation.pk, "Respuesta del bot")
    with tenant_scope(tenant_a):
        Conversation.objects.update(status=Conversation.Status.HANDED_OFF)
        assert delivery_claim(message_id=bot_reply.pk) is None
        bot_reply.refresh_from_db()
        assert bot_reply.delivery_status == Message.Delivery.FAILED
        assert "took over" in bot_reply.delivery_error
        # the rep's own message on that conversation does go out
        rep_message = message_add(
            conversation=telegram_conversation, role=Message.Role.AGENT, content="Soy Ana"
        )
        assert delivery_claim(message_id=rep_message.pk) is not None


@pytest.mark.parametrize("channel", ["telegram", "whatsapp", "widget"])
def test_a_reply_with_no_route_is_failed_and_flagged_never_sent(tenant_a, channel):
    """Issue 14: a conversation of a sending channel that has no account to send through
    (the demo's seeded Telegram chat) gets its reply marked failed, not "Sent"."""
    with tenant_scope(tenant_a):
        contact = Contact.objects.create(tenant=tenant_a, full_name="Laura")
        conversation = conversation_open(tenant=tenant_a, contact=contact, channel=channel)
        reply = message_add(conversation=conversation, role=Message.Role.ASSISTANT, content="Hola")
        assert delivery_claim(message_id=reply.pk) is None
        reply.refresh_from_db()
        assert reply.delivery_status == Message.Delivery.FAILED
        assert f"no {channel} account" in reply.delivery_error
        conversation.refresh_from_db()
        assert conversation.needs_attention
        assert "not sent" in conversation.attention_reason


def test_a_reply_in_a_crm_api_conversation_needs_no_sending(tenant_a):
    with tenant_scope(tenant_a):
        contact = Contact.objects.create(tenant=tenant_a, full_name="Laura")
        conversation = conversation_open(tenant=tenant_a, contact=contact, channel="api")
        reply = message_add(conversation=conversation, role=Message.Role.ASSISTANT, content="Hola")
        assert delivery_claim(message_id=reply.pk) is None
        reply.refresh_from_db()
        assert reply.delivery_status == Message.Delivery.SENT
        assert reply.delivery_attempts == 0


def test_a_pending_reply_left_by_a_crash_is_delivered_by_the_next_run(api_a):
    message, _ = receive(api_a, "Hola", "ext:1")
    with tenant_scope(api_a.tenant):
        Message.objects.filter(pk=message.pk).update(handled_at=timezone.now())
    reply = reply_in(api_a.tenant, message.conversation_id, "Respuesta guardada")
    assert answer(api_a.tenant, message.conversation_id) == 0
    with tenant_scope(api_a.tenant):
        reply.refresh_from_db()
        assert reply.delivery_status == Message.Delivery.SENT
        assert Message.objects.filter(role=Message.Role.ASSISTANT).count() == 1


# Recovery ------------------------------------------------------------------------------


def test_recovery_requeues_waiting_work_and_leaves_fresh_or_leased_work(tenant_a, api_a):
    waiting, _ = receive(api_a, "Hola", "ext:1", address="waiting")
    fresh, _ = receive(api_a, "Hola", "ext:2", address="fresh")
    leased, _ = receive(api_a, "Hola", "ext:3", address="leased")
    answered, _ = receive(api_a, "Hola", "ext:4", address="unsent")
    DBTaskResult.objects.all().delete()
    with tenant_scope(tenant_a):
        Message.objects.filter(pk=answered.pk).update(handled_at=timezone.now())
    unsent = reply_in(tenant_a, answered.conversation_id, "Respuesta sin enviar")
    with tenant_scope(tenant_a):
        age(Message.objects.exclude(pk=fresh.pk), 60)
        Conversation.objects.filter(pk=leased.conversation_id).update(
            turn_lease_until=timezone.now() + timedelta(minutes=5), turn_lease_token="busy"
        )

    assert inbox_recover() == {"resolved": 0, "requeued": 2, "stuck_sends_failed": 0}
    assert queued() == sorted(
        [[tenant_a.pk, waiting.conversation_id], [tenant_a.pk, unsent.conversation_id]]
    )
    # with a shorter delay the fresh message is picked up too
    DBTaskResult.objects.all().delete()
    assert inbox_recover(older_than=0)["requeued"] == 3
    assert [tenant_a.pk, fresh.conversation_id] in queued()


def test_recovery_fails_a_send_caught_by_a_crash_and_does_not_resend_it(
    tenant_a, telegram_conversation, settings
):
    stuck = reply_in(tenant_a, telegram_conversation.pk, "¿Salió o no salió?")
    recent = reply_in(tenant_a, telegram_conversation.pk, "Enviándose ahora")
    with tenant_scope(tenant_a):
        Message.objects.filter(role=Message.Role.USER).update(handled_at=timezone.now())
        Message.objects.filter(pk__in=[stuck.pk, recent.pk]).update(
            delivery_status=Message.Delivery.SENDING
        )
        age(
            Message.objects.filter(pk=stuck.pk),
            settings.INBOX_LEASE_SECONDS + 5,
            "created_at",
            "updated_at",
        )

    assert inbox_recover() == {"resolved": 0, "requeued": 0, "stuck_sends_failed": 1}
    assert queued() == []  # not resent
    with tenant_scope(tenant_a):
        stuck.refresh_from_db()
        recent.refresh_from_db()
        assert stuck.delivery_status == Message.Delivery.FAILED
        assert "not resent" in stuck.delivery_error
        assert recent.delivery_status == Message.Delivery.SENDING
        conversation = Conversation.objects.get(pk=telegram_conversation.pk)
        assert conversation.needs_attention
        assert "delivery failed" in conversation.attention_reason
    # a second pass finds nothing more to do
    assert inbox_recover() == {"resolved": 0, "requeued": 0, "stuck_sends_failed": 0}


def test_recovery_enqueues_each_conversation_with_its_own_tenant(tenant_a, tenant_b):
    a, _ = receive(account_for(tenant_a), "Hola", "ext:1")
    b, _ = receive(account_for(tenant_b), "Hola", "ext:1")  # the same provider id
    assert a.conversation_id != b.conversation_id
    DBTaskResult.objects.all().delete()
    with scopes_disabled():
        age(Message.objects.all(), 60)
    assert inbox_recover()["requeued"] == 2
    assert queued() == sorted([[tenant_a.pk, a.conversation_id], [tenant_b.pk, b.conversation_id]])


# The task ------------------------------------------------------------------------------


def _run_worker() -> None:
    call_command("worker", "--batch", stdout=io.StringIO())


@pytest.mark.django_db(transaction=True)
def test_queued_tasks_answer_each_conversation_in_its_own_tenant(tenant_a, tenant_b):
    a, _ = receive(account_for(tenant_a), "Necesito un medidor de pH", "ext:1")
    b, _ = receive(account_for(tenant_b), "Need a pH meter", "ext:1")
    for message in (a, b):
        conversation_answer_enqueue(
            tenant_id=message.tenant_id, conversation_id=message.conversation_id
        )
    assert queued() == sorted([[tenant_a.pk, a.conversation_id], [tenant_b.pk, b.conversation_id]])

    _run_worker()

    results = DBTaskResult.objects.filter(task_path=TASK_PATH)
    assert {(r.status, r.return_value) for r in results} == {("SUCCESSFUL", 1)}
    for tenant, message in ((tenant_a, a), (tenant_b, b)):
        with tenant_scope(tenant):
            reply = Message.objects.get(role=Message.Role.ASSISTANT)
            assert reply.conversation_id == message.conversation_id
            assert reply.tenant_id == tenant.pk
            assert reply.delivery_status == Message.Delivery.SENT


@pytest.mark.django_db(transaction=True)
def test_a_task_naming_another_tenant_touches_nothing(tenant_a, tenant_b):
    from channels_app.tasks import conversation_answer_task

    a, _ = receive(account_for(tenant_a), "Hola", "ext:1")
    DBTaskResult.objects.all().delete()
    conversation_answer_task.enqueue(tenant_b.pk, a.conversation_id)

    _run_worker()

    result = DBTaskResult.objects.get()
    assert (result.status, result.return_value) == ("SUCCESSFUL", 0)
    with tenant_scope(tenant_a):
        a.refresh_from_db()
        assert a.handled_at is None
        assert not Message.objects.filter(role=Message.Role.ASSISTANT).exists()
        assert Conversation.objects.get().turn_lease_until is None
