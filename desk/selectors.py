"""Reads of the sales desk that are not an admin page's own: the live conversation socket's."""

from __future__ import annotations

from typing import Any

from crm.models import Conversation, Message
from desk.transcript import MessageRow, message_row
from tenants.models import Tenant
from tenants.scoping import scopes_disabled, tenant_scope
from tenants.selectors import membership_for_user

VIEW_PERMISSION = "crm.view_conversation"


def conversation_for_watcher(*, user: Any, conversation_id: int) -> Conversation | None:
    """The conversation if ``user`` may watch it, else None.

    A member of the conversation's tenant whose role can view conversations may; so
    may an active platform operator (a superuser, who sees every tenant in the admin).
    """
    if user is None or not user.is_authenticated or not user.is_active or not user.is_staff:
        return None
    if not user.has_perm(VIEW_PERMISSION):
        return None
    membership = membership_for_user(user=user)
    if membership is not None:
        with tenant_scope(membership.tenant):
            return Conversation.objects.select_related("tenant").filter(pk=conversation_id).first()
    if user.is_superuser:
        with scopes_disabled():
            return Conversation.objects.select_related("tenant").filter(pk=conversation_id).first()
    return None


def conversation_message_row(
    *, tenant: Tenant, conversation_id: int, message_id: int
) -> MessageRow | None:
    """One message of the conversation as the transcript shows it, or None."""
    with tenant_scope(tenant):
        message = (
            Message.objects.select_related("conversation__contact")
            .filter(pk=message_id, conversation_id=conversation_id)
            .first()
        )
        if message is None:
            return None
        return message_row(message, message.conversation)
