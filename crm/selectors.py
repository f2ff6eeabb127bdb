"""Reads on the CRM record that other apps use. Callers hold the tenant's scope."""

from __future__ import annotations

from django.db.models import QuerySet

from crm.models import Conversation, LeadOpportunity, Message


def conversation_history(*, conversation: Conversation, limit: int | None = None) -> list[Message]:
    """The conversation's messages in the order they were stored (the last ``limit`` if given)."""
    messages = conversation.messages.order_by("-created_at", "-pk")
    if limit is not None:
        messages = messages[:limit]
    return list(reversed(list(messages)))


def contact_open_opportunities(*, contact_id: int) -> QuerySet[LeadOpportunity]:
    return LeadOpportunity.objects.filter(contact_id=contact_id).exclude(
        status=LeadOpportunity.Status.CLOSED
    )
