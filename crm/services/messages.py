"""Writes of messages: store one, mark customer messages taken by a turn, and record a
reply's delivery (claimed for sending, sent, waiting for a retry, failed, or what the
platform reported afterwards).

Delivery statuses only move forward (pending → sending → sent → delivered → read);
a failure after the platform accepted a reply does not undo "delivered".
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from crm.audit import SYSTEM, Actor, user_display_name
from crm.events import EventType, event_publish
from crm.models import Conversation, Message
from tenants.models import Tenant

Delivery = Message.Delivery

DELIVERY_ORDER: list[str] = [
    Delivery.PENDING,
    Delivery.SENDING,
    Delivery.SENT,
    Delivery.DELIVERED,
    Delivery.READ,
]


@transaction.atomic
def message_add(
    *,
    conversation: Conversation,
    role: str,
    content: str,
    external_id: str | None = None,
    delivery_status: str | None = None,
    metadata: dict[str, Any] | None = None,
    answer_mode: str = "",
    author: Any = None,
) -> Message:
    """Store a message and move the conversation's last activity to it; publishes
    ``message.created`` (with the conversation and the role) after the commit.

    ``author``: the rep who wrote a sales-rep message (their name is kept with it).
    """
    if delivery_status is None:
        delivery_status = Delivery.RECEIVED if role == Message.Role.USER else Delivery.PENDING
    message = Message.objects.create(
        tenant=conversation.tenant,
        conversation=conversation,
        role=role,
        content=content,
        external_id=external_id,
        delivery_status=delivery_status,
        metadata=metadata or {},
        answer_mode=answer_mode,
        author=author,
        author_name=user_display_name(author)[:150] if author is not None else "",
    )
    Conversation.objects.filter(pk=conversation.pk).update(
        last_activity_at=message.created_at, updated_at=message.created_at
    )
    conversation.last_activity_at = message.created_at
    event_publish(
        EventType.MESSAGE_CREATED,
        tenant_id=conversation.tenant_id,
        subject_id=message.pk,
        actor=_message_actor(role, author),
        conversation_id=conversation.pk,
        role=role,
    )
    return message


def _message_actor(role: str, author: Any) -> Actor:
    if author is not None:
        return Actor.rep(author)
    if role == Message.Role.ASSISTANT:
        return Actor.agent()
    return SYSTEM  # a customer's message comes in through a channel


def messages_mark_handled(*, message_ids: Iterable[int]) -> int:
    """Mark customer messages as taken by a bot turn; returns how many this call took
    (one already taken by another turn is not counted)."""
    ids = list(message_ids)
    if not ids:
        return 0
    return Message.objects.filter(pk__in=ids, handled_at__isnull=True).update(
        handled_at=timezone.now()
    )


def message_sending_claim(*, message_id: int) -> bool:
    """Take a pending reply that is due for sending; False when it is not (another worker
    took it, it was sent, or it waits for a retry)."""
    now = timezone.now()
    return bool(
        Message.objects.filter(pk=message_id, delivery_status=Delivery.PENDING)
        .exclude(next_attempt_at__gt=now)
        .update(delivery_status=Delivery.SENDING, updated_at=now)
    )


def _attempt(message: Message, external_ids: list[str], attempted: bool) -> dict[str, Any]:
    fields: dict[str, Any] = {"updated_at": timezone.now()}
    if attempted:
        fields["pieces_sent"] = F("pieces_sent") + len(external_ids)
        fields["delivery_attempts"] = F("delivery_attempts") + 1
    if external_ids and message.pieces_sent == 0:
        fields["external_id"] = external_ids[0]  # the first piece stands for all
    return fields


def message_sent(
    *, message: Message, external_ids: list[str] | None = None, attempted: bool = True
) -> None:
    """The reply went out (``attempted`` False: it needed no sending, e.g. the CRM API
    answered it in its response)."""
    Message.objects.filter(pk=message.pk).update(
        delivery_status=Delivery.SENT,
        delivery_error="",
        next_attempt_at=None,
        **_attempt(message, external_ids or [], attempted),
    )


def message_retry_later(
    *, message: Message, error: str, retry_at: datetime, external_ids: list[str] | None = None
) -> None:
    """A send failed for a reason that may pass: pending again until ``retry_at``; the
    pieces already delivered are not sent again."""
    Message.objects.filter(pk=message.pk).update(
        delivery_status=Delivery.PENDING,
        delivery_error=error[:1000],
        next_attempt_at=retry_at,
        **_attempt(message, external_ids or [], True),
    )


def message_failed(
    *,
    message: Message,
    error: str,
    external_ids: list[str] | None = None,
    attempted: bool = True,
) -> None:
    """The reply will not be delivered (``attempted`` False: it was never tried)."""
    Message.objects.filter(pk=message.pk).update(
        delivery_status=Delivery.FAILED,
        delivery_error=error[:1000],
        next_attempt_at=None,
        **_attempt(message, external_ids or [], attempted),
    )


def message_status_from_platform(
    *, tenant: Tenant, external_id: str, status: str, error: str = ""
) -> Message | None:
    """Record what the platform says of one of our replies; the reply when it changed.

    Statuses only move forward: a late "delivered" never undoes "read"; "failed" counts
    only before delivery. An id that is not one of this tenant's replies changes nothing.
    The caller holds the tenant's scope.
    """
    if status == Delivery.FAILED:
        earlier = DELIVERY_ORDER[:3]
    elif status in DELIVERY_ORDER:
        earlier = DELIVERY_ORDER[: DELIVERY_ORDER.index(status)]
    else:
        return None
    fields: dict[str, Any] = {"delivery_status": status, "updated_at": timezone.now()}
    if status == Delivery.FAILED:
        fields["delivery_error"] = (error or "delivery failed")[:1000]
    ours = Message.objects.filter(
        tenant=tenant,
        external_id=external_id,
        role__in=[Message.Role.ASSISTANT, Message.Role.AGENT],
    )
    if not ours.filter(delivery_status__in=earlier).update(**fields):
        return None
    return ours.select_related("conversation").first()
