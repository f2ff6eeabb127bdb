"""Reads of quotes that other apps use (channels, the desk, the API, the agent)."""

from __future__ import annotations

from django.db.models import QuerySet

from crm.models import Conversation
from quotes.models import Quote
from tenants.models import Tenant


def quote_by_key(*, tenant: Tenant, key: str) -> Quote | None:
    """The tenant's quote with this public key (links and accept buttons carry it)."""
    if not key:
        return None
    return (
        Quote.objects.filter(tenant=tenant, public_key=key)
        .select_related("tenant", "opportunity", "contact", "conversation")
        .first()
    )


def quote_by_number(*, tenant: Tenant, number: int) -> Quote | None:
    return (
        Quote.objects.filter(tenant=tenant, number=number)
        .select_related("tenant", "opportunity", "contact", "conversation")
        .first()
    )


def quotes_awaiting_answer(*, conversation: Conversation) -> QuerySet[Quote]:
    """The conversation's sent quotes the customer has not answered, newest first."""
    return Quote.objects.filter(
        tenant_id=conversation.tenant_id, conversation=conversation, status=Quote.Status.SENT
    ).order_by("-sent_at", "-pk")


def quotes_needing_approval(*, tenant: Tenant) -> QuerySet[Quote]:
    return Quote.objects.filter(tenant=tenant, status=Quote.Status.DRAFT)


def quotes_with_lines(
    *, tenant: Tenant, status: str | None = None, opportunity_id: int | None = None
) -> QuerySet[Quote]:
    """The tenant's quotes with their lines (the CRM API's list and its webhooks)."""
    quotes = Quote.objects.filter(tenant=tenant).prefetch_related("lines")
    if status:
        quotes = quotes.filter(status=status)
    if opportunity_id is not None:
        quotes = quotes.filter(opportunity_id=opportunity_id)
    return quotes
