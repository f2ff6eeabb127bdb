"""Reads on the CRM record that other apps use. Callers hold the tenant's scope."""

from __future__ import annotations

from django.db.models import QuerySet

from crm.models import AuditEntry, Conversation, LeadOpportunity, Message


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


def audit_trail(
    *, opportunity: LeadOpportunity | None = None, conversation: Conversation | None = None
) -> list[AuditEntry]:
    """The audit entries of an opportunity or of a conversation, oldest first."""
    if (opportunity is None) == (conversation is None):
        raise ValueError("Give an opportunity or a conversation.")
    entries = AuditEntry.objects.select_related("actor")
    if opportunity is not None:
        entries = entries.filter(opportunity=opportunity)
    else:
        entries = entries.filter(conversation=conversation)
    return list(entries.order_by("created_at", "pk"))
