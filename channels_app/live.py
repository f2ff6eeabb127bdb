"""Live notices for the people watching a conversation (the sales desk's conversation page).

When the inbox stores a customer message it tells the conversation's channel-layer
group, named by :func:`conversation_group` from the tenant and the conversation.
The notice carries ids only (``{"type": "conversation.message", "message_id": …}``):
whoever listens reloads the message inside its own tenant scope and decides what to
show. Nothing here imports the desk; the desk's consumer joins the group.

Notices are best effort: a channel layer that is down never fails the store that
triggered them (the page also refreshes itself over HTTP).
"""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from tenants.redaction import redact

logger = logging.getLogger(__name__)

EVENT_TYPE = "conversation.message"  # handled by a consumer's ``conversation_message``


def conversation_group(*, tenant_id: int, conversation_id: int) -> str:
    """The channel-layer group of one conversation of one tenant."""
    return f"desk.conversation.{tenant_id}.{conversation_id}"


async def conversation_notify(*, tenant_id: int, conversation_id: int, message_id: int) -> None:
    """Tell the conversation's watchers that this message is new or changed (best effort)."""
    layer = get_channel_layer()
    if layer is None:
        return
    group = conversation_group(tenant_id=tenant_id, conversation_id=conversation_id)
    try:
        await layer.group_send(group, {"type": EVENT_TYPE, "message_id": message_id})
    except Exception as exc:  # a live notice must never fail the caller
        reason = redact(str(exc))  # a Redis error may name its URL, password included
        logger.warning("live notice for conversation %s not sent: %s", conversation_id, reason)


def conversation_notify_on_commit(*, tenant_id: int, conversation_id: int, message_id: int) -> None:
    """:func:`conversation_notify` once the current transaction commits (sync callers)."""

    def notify() -> None:
        try:
            async_to_sync(conversation_notify)(
                tenant_id=tenant_id, conversation_id=conversation_id, message_id=message_id
            )
        except Exception as exc:  # e.g. no event loop can be used from here
            reason = redact(str(exc))
            logger.warning("live notice for conversation %s failed: %s", conversation_id, reason)

    transaction.on_commit(notify)
