"""Delivery: every stored reply goes out on its conversation's channel exactly once.

* :func:`delivery_claim` takes a pending reply (``pending`` → ``sending``) before sending,
  so it is sent at most once, and checks right before sending that a bot reply's
  conversation is still the bot's.
* :func:`reply_deliver` sends one attempt and records what happened: ``sent``; a
  transient failure (429, 5xx, a network error) goes back to ``pending`` with
  ``next_attempt_at`` set (what the platform asked, else exponential backoff) and the
  caller schedules a task for then, so a failing recipient never holds a worker slot;
  a permanent failure, or the last retry, is ``failed`` and flags the conversation.
  A long reply's delivered pieces are remembered: a retry sends the rest.
* :func:`conversation_deliver` sends a conversation's pending replies in order and stops
  at the first one waiting for its retry: later replies never overtake it.
* :func:`delivery_status_update` records what the platform reports (delivered, read…).

Every error stored on a message or a conversation (and shown to reps) is redacted first
(:meth:`ChannelAccount.redact`): a platform error that echoes a token never reaches them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from asgiref.sync import sync_to_async
from django.db import transaction
from django.utils import timezone

from channels_app.models import ChannelAccount, ConversationRoute
from channels_app.outbound import retry_delay
from channels_app.quotes import QuoteMissing, quote_document
from channels_app.transport import OUTBOUND_KINDS, SendResult, transport_for
from crm.audit import user_first_name
from crm.models import Conversation, Message
from crm.services import (
    conversation_flag,
    message_failed,
    message_retry_later,
    message_sending_claim,
    message_sent,
    message_status_from_platform,
)
from tenants.models import Tenant
from tenants.redaction import redact
from tenants.scoping import tenant_scope

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delivered:
    """What :func:`reply_deliver` did: ``sent``, ``failed``, ``retry`` (at ``retry_at``)
    or ``skipped`` (not ours to send: already claimed, or a rep took over)."""

    status: str
    retry_at: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.status == "sent"


SKIPPED = Delivered("skipped")


def route_of(conversation_id: int) -> ConversationRoute | None:
    return (
        ConversationRoute.objects.select_related("account", "conversation")
        .filter(conversation_id=conversation_id)
        .first()
    )


def delivery_claim(*, message_id: int) -> tuple[Message, ConversationRoute] | None:
    """Take a pending reply that is due for sending, or None when it is not ours to send.

    A bot reply whose conversation a rep took over in the meantime is not sent; the reply
    of the turn that handed the conversation off (``metadata["handoff"]``) is, and so is
    the answer to a quote acceptance (``metadata["quote_answer"]``).
    """
    with transaction.atomic():
        if not message_sending_claim(message_id=message_id):
            return None
        message = Message.objects.select_related("conversation", "author").get(pk=message_id)
        route = route_of(message.conversation_id)
        bot_reply = message.role == Message.Role.ASSISTANT
        metadata = message.metadata if isinstance(message.metadata, dict) else {}
        # The reply that announces a handoff, and the answer to a quote the customer
        # accepted (a rep who has the conversation sent it), go out anyway.
        goes_out = bool(metadata.get("handoff") or metadata.get("quote_answer"))
        status = message.conversation.status
        if (
            bot_reply
            and status != Conversation.Status.ACTIVE
            and not (goes_out and status == Conversation.Status.HANDED_OFF)
        ):
            _fail(message, "not sent: a sales rep took over the conversation", flag=False)
            return None
        channel = message.conversation.channel
        if route is None and transport_for(channel) is not None:
            # A conversation of a sending channel with no account and address to send
            # through (e.g. seeded or imported history): never "sent".
            _fail(
                message,
                f"not sent: no {channel} account is connected to this conversation",
                flag=True,
            )
            return None
        if route is None or transport_for(route.account.kind) is None:
            # Answered in the request (CRM API) or a channel without outbound sending.
            message_sent(message=message, attempted=False)
            return None
        return message, route


def delivery_finish(*, message: Message, result: SendResult) -> Delivered:
    if result.ok:
        message_sent(message=message, external_ids=result.external_ids)
        return Delivered("sent")
    attempt = message.delivery_attempts + 1
    wait = None if result.permanent else retry_delay(attempt=attempt, asked=result.retry_after)
    if wait is None:
        _fail(
            message, result.error or "delivery failed", flag=True, external_ids=result.external_ids
        )
        return Delivered("failed")
    retry_at = timezone.now() + timedelta(seconds=wait)
    message_retry_later(
        message=message,
        error=result.error or "delivery failed",
        retry_at=retry_at,
        external_ids=result.external_ids,
    )
    logger.info(
        "message %s: attempt %d failed (%s), retry in %.1f s",
        message.pk,
        attempt,
        result.error,
        wait,
    )
    return Delivered("retry", retry_at)


def _fail(
    message: Message, reason: str, *, flag: bool, external_ids: list[str] | None = None
) -> None:
    message_failed(
        message=message, error=reason, external_ids=external_ids, attempted=external_ids is not None
    )
    if flag:
        conversation_flag(conversation=message.conversation, reason=f"delivery failed: {reason}")
    logger.warning("message %s not delivered: %s", message.pk, reason)


async def reply_deliver(*, message_id: int) -> Delivered:
    """One attempt to send a stored reply on its conversation's channel. The caller holds
    the scope, and schedules a task for ``retry_at`` when the result asks for a retry."""
    claimed = await sync_to_async(delivery_claim)(message_id=message_id)
    if claimed is None:
        return SKIPPED
    message, route = claimed
    transport = transport_for(route.account.kind)
    assert transport is not None
    author = user_first_name(message.author) if message.author is not None else ""
    try:
        document = await sync_to_async(quote_document)(message=message)
        if document is not None:
            result = await transport.send_quote(
                route, document, role=message.role, start=message.pieces_sent, author=author
            )
        else:
            result = await transport.send_text(
                route, message.content, role=message.role, start=message.pieces_sent, author=author
            )
    except QuoteMissing as exc:
        result = SendResult(ok=False, error=str(exc), permanent=True)
    except Exception as exc:  # a transport bug must not leave the message in "sending"
        logger.exception("transport %s crashed", route.account.kind)
        result = SendResult(ok=False, error=f"internal error: {type(exc).__name__}", permanent=True)
    result.error = route.account.redact(result.error)  # whatever the transport let through
    return await sync_to_async(delivery_finish)(message=message, result=result)


def pending_replies(conversation_id: int) -> list[tuple[int, datetime | None]]:
    """The conversation's unsent replies in order: ``(id, next_attempt_at)``."""
    return list(
        Message.objects.filter(
            conversation_id=conversation_id,
            role__in=[Message.Role.ASSISTANT, Message.Role.AGENT],
            delivery_status=Message.Delivery.PENDING,
        )
        .order_by("created_at", "pk")
        .values_list("pk", "next_attempt_at")
    )


async def conversation_deliver(conversation_id: int) -> datetime | None:
    """Send the conversation's pending replies in order; returns when to try again (the
    first reply that waits for a retry holds back the ones after it), or None."""
    now = timezone.now()
    for message_id, next_attempt_at in await sync_to_async(pending_replies)(conversation_id):
        if next_attempt_at is not None and next_attempt_at > now:
            return next_attempt_at
        delivered = await reply_deliver(message_id=message_id)
        if delivered.status == "retry":
            return delivered.retry_at
    return None


# Delivery statuses the platform reports ------------------------------------------------


def delivery_status_update(
    *, tenant: Tenant, external_id: str, status: str, error: str = ""
) -> bool:
    """Record what the platform says of one of our replies; True when it changed something.

    Statuses only move forward (sent → delivered → read): a late "delivered" never
    undoes "read". "failed" (before delivery) stores ``error`` and flags the conversation
    for a rep. An id that is not one of this tenant's replies changes nothing.
    """
    with tenant_scope(tenant):
        if error:  # the platform's words: they might echo one of the tenant's secrets
            accounts = ChannelAccount.objects.filter(kind__in=OUTBOUND_KINDS)
            error = redact(error, [s for account in accounts for s in account.secret_values()])
        message = message_status_from_platform(
            tenant=tenant, external_id=external_id, status=status, error=error
        )
        if message is None:
            return False
        if status == Message.Delivery.FAILED:
            reason = error or "delivery failed"
            conversation_flag(
                conversation=message.conversation, reason=f"delivery failed: {reason}"
            )
            logger.warning("message %s not delivered: %s", message.pk, reason)
    return True
