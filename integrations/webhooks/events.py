"""The events an endpoint can subscribe to, and the payload each one carries.

Each offered type is one of crm's domain events (``crm.events.EventType``) and names the
resource it sends: the row the event is about (``DomainEvent.subject_id``), as the REST API
v1 shows it (``integrations.representations``). Adding a type is one line in
:data:`WEBHOOK_EVENTS`.

The payload::

    {"id": "<event id>", "type": "opportunity.updated", "created_at": "<ISO 8601>",
     "tenant": "<tenant slug>", "data": {<the resource>}}

``id`` is the domain event's id: every endpoint, and every attempt or redelivery to one,
gets the same id for the same event, so a receiver recognises a duplicate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from crm.events import DomainEvent, EventType
from crm.models import Contact, Conversation, LeadOpportunity, OpportunityProductRecommendation
from quotes.models import Quote
from tenants.models import Tenant


@dataclass(frozen=True)
class Resource:
    """How to load an event's subject and show it as the REST API does."""

    model: type[Any]
    representation: str  # the function's name in integrations.representations


CONTACT = Resource(Contact, "contact_resource")
CONVERSATION = Resource(Conversation, "conversation_resource")
OPPORTUNITY = Resource(LeadOpportunity, "opportunity_resource")
RECOMMENDATION = Resource(OpportunityProductRecommendation, "recommendation_resource")
QUOTE = Resource(Quote, "quote_resource")

# Event type -> the resource its payload carries.
# Beyond the list: ``recommendation.updated`` (a product recommended again with a new
# justification; without it a mirror's copy of the recommendation goes stale) and
# ``contact.erased`` (a GDPR erasure: the CRM erases its copy too, and reads the contact's
# conversations and opportunities again, whose texts were erased with it). Every change of
# a quote's status is an event: a CRM learns of a quote a rep sent, of the customer's
# acceptance in the chat, of an expiry. The quote's ``download_url`` is signed when the
# event's deliveries are made and works for ``QUOTE_LINK_MAX_AGE`` seconds from then.
WEBHOOK_EVENTS: dict[str, Resource] = {
    EventType.CONTACT_CREATED: CONTACT,
    EventType.CONTACT_UPDATED: CONTACT,
    EventType.CONTACT_ERASED: CONTACT,
    EventType.CONVERSATION_HANDED_OFF: CONVERSATION,
    EventType.CONVERSATION_CLOSED: CONVERSATION,
    EventType.OPPORTUNITY_CREATED: OPPORTUNITY,
    EventType.OPPORTUNITY_UPDATED: OPPORTUNITY,
    EventType.RECOMMENDATION_CREATED: RECOMMENDATION,
    EventType.RECOMMENDATION_UPDATED: RECOMMENDATION,
    EventType.QUOTE_CREATED: QUOTE,
    EventType.QUOTE_UPDATED: QUOTE,
    EventType.QUOTE_APPROVED: QUOTE,
    EventType.QUOTE_SENT: QUOTE,
    EventType.QUOTE_ACCEPTED: QUOTE,
    EventType.QUOTE_REJECTED: QUOTE,
    EventType.QUOTE_EXPIRED: QUOTE,
}
WEBHOOK_EVENT_TYPES: tuple[str, ...] = tuple(WEBHOOK_EVENTS)


def events_problem(events: list[str]) -> str | None:
    """Why ``events`` is not a valid subscription, or None."""
    if not events:
        return "Choose at least one event."
    unknown = sorted(set(events) - set(WEBHOOK_EVENTS))
    if unknown:
        return f"Unknown event type(s): {', '.join(unknown)}. Known: {', '.join(WEBHOOK_EVENTS)}."
    return None


def _representation(name: str) -> Callable[[Any], dict[str, Any]]:
    # Imported late: the API's schemas import django-ninja, which the rest of this
    # module does not need (and crm's events reach subscribers from any process).
    from integrations import representations

    function: Callable[[Any], dict[str, Any]] = getattr(representations, name)
    return function


def event_resource(event: DomainEvent) -> dict[str, Any] | None:
    """The event's subject as the REST API shows it now, or None when the row is gone.
    Runs in the event's tenant scope."""
    resource = WEBHOOK_EVENTS[event.type]
    row = resource.model.objects.filter(pk=event.subject_id).first()
    if row is None:
        return None
    return _representation(resource.representation)(row)


def resource_now(event_type: str, pk: int) -> dict[str, Any] | None:
    """The resource an event of ``event_type`` about row ``pk`` carries, as it is now
    (soft-deleted rows too); None when the row is gone. Runs in the tenant's scope."""
    resource = WEBHOOK_EVENTS[event_type]
    row = resource.model.all_objects.filter(pk=pk).first()
    return None if row is None else _representation(resource.representation)(row)


def event_payload(event: DomainEvent, *, tenant: Tenant, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": event.id,
        "type": event.type,
        "created_at": event.occurred_at.isoformat(),
        "tenant": tenant.slug,
        "data": data,
    }
