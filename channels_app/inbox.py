"""The durable inbox: every inbound message is stored before it is answered, and
answered exactly once.

* :func:`inbound_store` (the edges call it, inside the tenant's scope) stores
  a customer message with the provider's id under a unique constraint: a
  redelivery is recognised and not stored again. After the commit a task
  answering the conversation is enqueued (Django's Tasks API).
* :func:`conversation_answer` runs turns for one conversation while it has
  waiting messages, holding a lease on it (a conditional UPDATE in the
  database), so one turn runs at a time per conversation, whatever the number
  of worker processes; messages that arrive during a turn are answered
  together in the next one.
* :func:`reply_deliver` claims a stored reply (``pending`` → ``sending``) before
  sending it, so it is sent at most once, and checks right before sending that
  the conversation is still the bot's.
* :func:`inbox_recover` (on start and periodically) re-enqueues conversations
  with waiting messages or unsent replies and no live lease: a crash loses nothing.
  A reply caught in ``sending`` by a crash is not resent (it may have gone
  out): it is marked failed and the conversation flagged for a rep.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from agent.services import respond
from channels_app.live import conversation_notify_on_commit
from channels_app.models import ChannelAccount, ConversationRoute
from channels_app.transport import SendResult, Transport, transport_for
from crm.models import Conversation, Message
from crm.services import (
    contact_get_or_create_for_platform,
    conversation_flag,
    conversation_open,
    message_add,
)
from tenants.models import Tenant
from tenants.scoping import scopes_disabled, tenant_scope

logger = logging.getLogger(__name__)

TYPING_EVERY = 4.0  # seconds; Telegram shows "typing…" for about 5 s
TYPING_STOP_WAIT = 5.0  # seconds the turn waits for the typing loop to end


@dataclass
class Inbound:
    """A customer message as a channel received it."""

    address: str  # where replies go: Telegram chat id, WhatsApp wa_id, widget visitor id
    text: str
    external_id: str  # the provider's id, namespaced by channel ("tg:…", "wa:…")
    display_name: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)


def route_ensure(
    *, conversation: Conversation, account: ChannelAccount, address: str
) -> ConversationRoute:
    route = ConversationRoute.all_objects.filter(conversation=conversation).first()
    if route is None:
        return ConversationRoute.objects.create(
            tenant=conversation.tenant, conversation=conversation, account=account, address=address
        )
    if route.account_id != account.pk or route.address != address or route.is_deleted:
        route.account, route.address, route.is_deleted = account, address, False
        route.save(update_fields=["account", "address", "is_deleted", "updated_at"])
    return route


def inbound_store(
    *, account: ChannelAccount, inbound: Inbound, enqueue: bool = True
) -> tuple[Message, bool]:
    """Store a customer message; ``(message, created)``. The caller holds the tenant's scope.

    A message whose provider id is already stored is the provider retrying:
    the stored one is returned and nothing is written or enqueued. With
    ``enqueue=False`` the caller answers the conversation itself (the widget
    streams the turn to its socket); :func:`inbox_recover` still re-queues it
    if that caller dies first.
    """
    return _store(account=account, inbound=inbound, enqueue=enqueue)


def inbound_store_unsupported(
    *, account: ChannelAccount, inbound: Inbound, reply: str
) -> tuple[Message, bool]:
    """A message the bot cannot read (a photo, a voice note…): stored, and answered
    with ``reply`` without a turn. Redeliveries are recognised as in :func:`inbound_store`.

    ``inbound.text`` describes what arrived (e.g. "[photo]") for the transcript.
    """
    return _store(account=account, inbound=inbound, enqueue=True, canned_reply=reply)


def _store(
    *, account: ChannelAccount, inbound: Inbound, enqueue: bool, canned_reply: str = ""
) -> tuple[Message, bool]:
    """Contact, conversation, route and message in one transaction, once per provider id.

    With ``canned_reply`` the message is marked handled and that reply is stored for
    sending (unless a rep has the conversation) instead of leaving it to a bot turn.
    """
    tenant = account.tenant
    existing = Message.all_objects.filter(external_id=inbound.external_id).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            contact, _ = contact_get_or_create_for_platform(
                tenant=tenant,
                platform=account.kind,
                platform_user_id=inbound.address,
                full_name=inbound.display_name[:200],
            )
            conversation = conversation_open(tenant=tenant, contact=contact, channel=account.kind)
            route_ensure(conversation=conversation, account=account, address=inbound.address)
            message = message_add(
                conversation=conversation,
                role=Message.Role.USER,
                content=inbound.text,
                external_id=inbound.external_id,
                metadata=inbound.metadata,
            )
            if canned_reply:
                Message.objects.filter(pk=message.pk).update(handled_at=timezone.now())
                if conversation.status == Conversation.Status.ACTIVE:
                    message_add(
                        conversation=conversation, role=Message.Role.ASSISTANT, content=canned_reply
                    )
    except IntegrityError:
        existing = Message.all_objects.filter(external_id=inbound.external_id).first()
        if existing is None:
            raise
        return existing, False
    conversation_notify_on_commit(
        tenant_id=tenant.pk, conversation_id=conversation.pk, message_id=message.pk
    )
    if enqueue:
        conversation_answer_enqueue(tenant_id=tenant.pk, conversation_id=conversation.pk)
    return message, True


def conversation_answer_enqueue(*, tenant_id: int, conversation_id: int) -> None:
    """After the current transaction commits, queue a task that answers the conversation."""
    from channels_app.tasks import conversation_answer_task

    transaction.on_commit(lambda: conversation_answer_task.enqueue(tenant_id, conversation_id))


# One turn at a time per conversation ---------------------------------------------------


def lease_acquire(*, conversation_id: int, token: str) -> bool:
    now = timezone.now()
    until = now + timedelta(seconds=settings.INBOX_LEASE_SECONDS)
    return (
        Conversation.objects.filter(pk=conversation_id)
        .filter(Q(turn_lease_until__isnull=True) | Q(turn_lease_until__lt=now))
        .update(turn_lease_until=until, turn_lease_token=token)
        == 1
    )


def lease_release(*, conversation_id: int, token: str) -> None:
    Conversation.objects.filter(pk=conversation_id, turn_lease_token=token).update(
        turn_lease_until=None, turn_lease_token=""
    )


def has_waiting(*, conversation_id: int) -> bool:
    return Message.objects.filter(
        conversation_id=conversation_id, role=Message.Role.USER, handled_at__isnull=True
    ).exists()


def _route(conversation_id: int) -> ConversationRoute | None:
    return (
        ConversationRoute.objects.select_related("account", "conversation")
        .filter(conversation_id=conversation_id)
        .first()
    )


def _undelivered(conversation_id: int) -> list[int]:
    return list(
        Message.objects.filter(
            conversation_id=conversation_id,
            role__in=[Message.Role.ASSISTANT, Message.Role.AGENT],
            delivery_status=Message.Delivery.PENDING,
        )
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)
    )


async def conversation_answer(*, tenant: Tenant, conversation_id: int) -> int:
    """Answer the conversation's waiting messages, turn after turn; returns replies stored.

    Returns 0 at once when another worker holds the conversation: that worker
    looks for waiting messages again before it lets go.
    """
    token = uuid.uuid4().hex
    answered = 0
    with tenant_scope(tenant):
        while True:
            if not await sync_to_async(lease_acquire)(conversation_id=conversation_id, token=token):
                return answered
            try:
                answered += await _turns(conversation_id)
            finally:
                await sync_to_async(lease_release)(conversation_id=conversation_id, token=token)
            if not await sync_to_async(has_waiting)(conversation_id=conversation_id):
                return answered


async def _turns(conversation_id: int) -> int:
    answered = 0
    for message_id in await sync_to_async(_undelivered)(conversation_id):
        await reply_deliver(message_id=message_id)  # left over by a crash
    while True:
        route = await sync_to_async(_route)(conversation_id)
        transport = transport_for(route.account.kind) if route else None
        conversation = (
            route.conversation if route else await Conversation.objects.aget(pk=conversation_id)
        )
        typing = None
        stop_typing = asyncio.Event()
        bot_turn = conversation.status == Conversation.Status.ACTIVE
        if transport is not None and route is not None and bot_turn:
            await _mark_read(transport, route)
            typing = asyncio.create_task(_keep_typing(transport, route, stop_typing))
        try:
            on_token = transport.token_callback(route) if transport and route else None
            result = await respond(conversation, on_token=on_token)
        finally:
            if typing is not None:
                stop_typing.set()
                typing.cancel()
                # A client library may turn the cancellation into an ordinary error that
                # the loop swallows; the event still ends it, and the turn never waits long.
                await asyncio.wait({typing}, timeout=TYPING_STOP_WAIT)
        if result is None:
            return answered
        answered += 1
        if result.message is not None:
            await reply_deliver(message_id=result.message.pk)


async def _keep_typing(transport: Transport, route: ConversationRoute, stop: asyncio.Event) -> None:
    while not stop.is_set():
        with contextlib.suppress(Exception):
            await transport.typing(route)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), TYPING_EVERY)


async def _mark_read(transport: Transport, route: ConversationRoute) -> None:
    """Tell the platform the bot read the waiting messages (the latest stands for all)."""
    mark_read = getattr(transport, "mark_read", None)
    if mark_read is None or route.conversation.status != Conversation.Status.ACTIVE:
        return
    latest = await (
        Message.objects.filter(
            conversation_id=route.conversation_id,
            role=Message.Role.USER,
            handled_at__isnull=True,
            external_id__isnull=False,
        )
        .order_by("-created_at", "-pk")
        .values_list("external_id", flat=True)
        .afirst()
    )
    if latest:
        with contextlib.suppress(Exception):
            await mark_read(route, latest)


# Delivery ------------------------------------------------------------------------------


def delivery_claim(*, message_id: int) -> tuple[Message, ConversationRoute] | None:
    """Take a pending reply for sending, or None when it is not ours to send.

    A bot reply whose conversation a rep took over in the meantime is not sent.
    """
    with transaction.atomic():
        claimed = Message.objects.filter(
            pk=message_id, delivery_status=Message.Delivery.PENDING
        ).update(delivery_status=Message.Delivery.SENDING, updated_at=timezone.now())
        if not claimed:
            return None
        message = Message.objects.select_related("conversation").get(pk=message_id)
        route = _route(message.conversation_id)
        bot_reply = message.role == Message.Role.ASSISTANT
        if bot_reply and message.conversation.status != Conversation.Status.ACTIVE:
            _fail(message, "not sent: a sales rep took over the conversation", flag=False)
            return None
        if route is None or transport_for(route.account.kind) is None:
            # Answered in the request (CRM API) or a channel without outbound sending.
            Message.objects.filter(pk=message_id).update(delivery_status=Message.Delivery.SENT)
            return None
        return message, route


def delivery_finish(*, message: Message, result: SendResult) -> None:
    if result.ok:
        Message.objects.filter(pk=message.pk).update(
            delivery_status=Message.Delivery.SENT,
            external_id=result.external_ids[0] if result.external_ids else None,
            delivery_error="",
            updated_at=timezone.now(),
        )
        return
    _fail(message, result.error or "delivery failed", flag=True)


def _fail(message: Message, reason: str, *, flag: bool) -> None:
    Message.objects.filter(pk=message.pk).update(
        delivery_status=Message.Delivery.FAILED,
        delivery_error=reason[:1000],
        updated_at=timezone.now(),
    )
    if flag:
        conversation_flag(conversation=message.conversation, reason=f"delivery failed: {reason}")
    logger.warning("message %s not delivered: %s", message.pk, reason)


async def reply_deliver(*, message_id: int) -> bool:
    """Send a stored reply on its conversation's channel. The caller holds the scope."""
    claimed = await sync_to_async(delivery_claim)(message_id=message_id)
    if claimed is None:
        return False
    message, route = claimed
    transport = transport_for(route.account.kind)
    assert transport is not None
    try:
        result = await transport.send_text(route, message.content, role=message.role)
    except Exception as exc:  # a transport bug must not leave the message in "sending"
        logger.exception("transport %s crashed", route.account.kind)
        result = SendResult(ok=False, error=f"internal error: {type(exc).__name__}")
    await sync_to_async(delivery_finish)(message=message, result=result)
    return result.ok


# Recovery ------------------------------------------------------------------------------


def inbox_recover(*, older_than: float | None = None) -> dict[str, int]:
    """Re-enqueue every conversation with waiting work and no live lease (all tenants).

    ``older_than`` (seconds, default ``INBOX_RECOVER_AFTER``) leaves alone what
    just arrived: its own task is still on the way.
    """
    now = timezone.now()
    cutoff = now - timedelta(
        seconds=settings.INBOX_RECOVER_AFTER if older_than is None else older_than
    )
    stuck_cutoff = now - timedelta(seconds=settings.INBOX_LEASE_SECONDS)
    free = Q(conversation__turn_lease_until__isnull=True) | Q(
        conversation__turn_lease_until__lt=now
    )
    with scopes_disabled():
        stuck = list(
            Message.objects.filter(
                delivery_status=Message.Delivery.SENDING, updated_at__lt=stuck_cutoff
            ).select_related("conversation")
        )
        for message in stuck:
            _fail(message, "delivery uncertain after a crash: not resent", flag=True)
        waiting = Message.objects.filter(
            free, role=Message.Role.USER, handled_at__isnull=True, created_at__lt=cutoff
        )
        unsent = Message.objects.filter(
            free,
            role__in=[Message.Role.ASSISTANT, Message.Role.AGENT],
            delivery_status=Message.Delivery.PENDING,
            created_at__lt=cutoff,
        )
        pairs = set(waiting.values_list("tenant_id", "conversation_id"))
        pairs |= set(unsent.values_list("tenant_id", "conversation_id"))
    from channels_app.tasks import conversation_answer_task

    for tenant_id, conversation_id in sorted(pairs):
        conversation_answer_task.enqueue(tenant_id, conversation_id)
    if pairs or stuck:
        logger.info(
            "inbox recovery: %d conversation(s) re-queued, %d stuck", len(pairs), len(stuck)
        )
    return {"requeued": len(pairs), "stuck_sends_failed": len(stuck)}


# Delivery statuses the platform reports ------------------------------------------------

_DELIVERY_ORDER = [
    Message.Delivery.PENDING,
    Message.Delivery.SENDING,
    Message.Delivery.SENT,
    Message.Delivery.DELIVERED,
    Message.Delivery.READ,
]


def delivery_status_update(
    *, tenant: Tenant, external_id: str, status: str, error: str = ""
) -> bool:
    """Record what the platform says of one of our replies; True when it changed something.

    Statuses only move forward (sent → delivered → read): a late "delivered" never
    undoes "read". "failed" (before delivery) stores ``error`` and flags the conversation
    for a rep. An id that is not one of this tenant's replies changes nothing.
    """
    if status == Message.Delivery.FAILED:
        earlier = _DELIVERY_ORDER[:3]
    elif status in _DELIVERY_ORDER:
        earlier = _DELIVERY_ORDER[: _DELIVERY_ORDER.index(status)]
    else:
        return False
    fields: dict[str, Any] = {"delivery_status": status, "updated_at": timezone.now()}
    if status == Message.Delivery.FAILED:
        fields["delivery_error"] = (error or "delivery failed")[:1000]
    with tenant_scope(tenant):
        ours = Message.objects.filter(
            tenant=tenant,
            external_id=external_id,
            role__in=[Message.Role.ASSISTANT, Message.Role.AGENT],
        )
        if not ours.filter(delivery_status__in=earlier).update(**fields):
            return False
        if status == Message.Delivery.FAILED:
            message = ours.select_related("conversation").first()
            if message is not None:
                reason = error or "delivery failed"
                conversation_flag(
                    conversation=message.conversation, reason=f"delivery failed: {reason}"
                )
                logger.warning("message %s not delivered: %s", message.pk, reason)
    return True
