"""Live notices for the conversations inbox: what changed, for the open inboxes of a tenant.

``crm`` publishes domain events after its commits (a conversation created, flagged,
handed off, a message stored…); :func:`inbox_event_forward`, subscribed in
``desk.apps``, turns each into a notice for the tenant's inbox group
(:func:`inbox_group`, namespaced by tenant: another tenant's desk never hears it). A
member's read mark moving is a notice too (``event="read"``, for that member only).

A notice carries ids only (``{"type": "inbox.changed", "conversation_id": …,
"event": …}``): the desk's inbox socket (``desk/consumers.py``) reloads the
conversation in the tenant's scope for its member and decides what to send.

Best effort, like the conversation page's notices: a channel layer that is down never
fails the change that triggered them (the inbox page also refreshes itself).
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from crm.events import DomainEvent, EventType
from tenants.redaction import redact

logger = logging.getLogger(__name__)

NOTICE_TYPE = "inbox.changed"  # handled by the inbox consumer's ``inbox_changed``

# The crm events that change a row of the inbox.
EVENT_TYPES = [
    EventType.CONVERSATION_CREATED,
    EventType.CONVERSATION_FLAGGED,
    EventType.CONVERSATION_HANDED_OFF,
    EventType.CONVERSATION_HANDED_BACK,
    EventType.CONVERSATION_ASSIGNED,
    EventType.CONVERSATION_CLOSED,
    EventType.CONVERSATION_REOPENED,
    EventType.MESSAGE_CREATED,
    # A draft quote marks its conversation "quote needs approval" until it moves on.
    EventType.QUOTE_CREATED,
    EventType.QUOTE_UPDATED,
    EventType.QUOTE_APPROVED,
    EventType.QUOTE_SENT,
    EventType.QUOTE_REJECTED,
    EventType.QUOTE_EXPIRED,
]


def inbox_group(*, tenant_id: int) -> str:
    """The channel-layer group of one tenant's open inboxes."""
    return f"desk.inbox.{tenant_id}"


async def inbox_notify(
    *,
    tenant_id: int,
    conversation_id: int,
    event: str,
    actor_user_id: int | None = None,
    user_id: int | None = None,
    role: str = "",
) -> None:
    """Tell the tenant's open inboxes that a conversation changed (best effort)."""
    layer = get_channel_layer()
    if layer is None:
        return
    notice: dict[str, Any] = {
        "type": NOTICE_TYPE,
        "conversation_id": conversation_id,
        "event": event,
        "actor_user_id": actor_user_id,
        "user_id": user_id,
        "role": role,
    }
    try:
        await layer.group_send(inbox_group(tenant_id=tenant_id), notice)
    except Exception as exc:  # a live notice must never fail the caller
        reason = redact(str(exc))  # a Redis error may name its URL, password included
        logger.warning("inbox notice for conversation %s not sent: %s", conversation_id, reason)


def _notify_now(**notice: Any) -> None:
    try:
        async_to_sync(inbox_notify)(**notice)
    except Exception as exc:  # e.g. called from a thread that runs an event loop
        logger.warning("inbox notice failed: %s", redact(str(exc)))


def inbox_notify_on_commit(**notice: Any) -> None:
    """:func:`inbox_notify` once the current transaction commits (sync callers)."""
    transaction.on_commit(lambda: _notify_now(**notice))


def inbox_event_forward(event: DomainEvent) -> None:
    """A crm domain event (already committed) as a notice to the tenant's inboxes."""
    if event.type == EventType.MESSAGE_CREATED:
        conversation_id = int(event.data["conversation_id"])
        name = "message"
    elif event.type.startswith("quote."):
        if event.data.get("conversation_id") is None:
            return  # a quote without a conversation is not in the inbox
        conversation_id = int(event.data["conversation_id"])
        name = event.type.replace(".", "_")  # quote_created, quote_approved…
    else:
        conversation_id = event.subject_id
        name = event.type.split(".", 1)[1]
        if event.type == EventType.CONVERSATION_HANDED_OFF and event.data.get("taken_over"):
            name = "taken_over"  # a rep took it: not a request for one
    _notify_now(
        tenant_id=event.tenant_id,
        conversation_id=conversation_id,
        event=name,
        actor_user_id=event.actor_user_id,
        role=str(event.data.get("role", "")),
    )
