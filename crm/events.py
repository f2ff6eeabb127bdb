"""Domain events: what changed in the CRM, published after the commit that changed it.

``crm.services`` publish an event for every change other features may react to
(outbound CRM webhooks, notifications): :func:`event_publish` hands it to the
subscribers once the surrounding transaction commits (at once outside one), and never
when it rolls back. Features subscribe with :func:`event_subscribe`, usually from their
app's ``ready()``; a subscriber that raises is logged and does not affect the change or
the other subscribers. With no subscriber for a type, publishing costs nothing.

An event carries ids, not model instances: a subscriber loads what it needs in its own
transaction (or enqueues a task that does).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from crm.audit import Actor

logger = logging.getLogger(__name__)


class EventType:
    CONTACT_CREATED = "contact.created"
    CONTACT_UPDATED = "contact.updated"
    CONTACT_ERASED = "contact.erased"
    CONVERSATION_CREATED = "conversation.created"
    CONVERSATION_HANDED_OFF = "conversation.handed_off"
    CONVERSATION_HANDED_BACK = "conversation.handed_back"
    CONVERSATION_ASSIGNED = "conversation.assigned"
    CONVERSATION_FLAGGED = "conversation.flagged"
    CONVERSATION_CLOSED = "conversation.closed"
    CONVERSATION_REOPENED = "conversation.reopened"
    MESSAGE_CREATED = "message.created"
    OPPORTUNITY_CREATED = "opportunity.created"
    OPPORTUNITY_UPDATED = "opportunity.updated"
    RECOMMENDATION_CREATED = "recommendation.created"
    RECOMMENDATION_UPDATED = "recommendation.updated"
    QUOTE_CREATED = "quote.created"
    QUOTE_UPDATED = "quote.updated"
    QUOTE_APPROVED = "quote.approved"
    QUOTE_SENT = "quote.sent"
    QUOTE_ACCEPTED = "quote.accepted"
    QUOTE_REJECTED = "quote.rejected"
    QUOTE_EXPIRED = "quote.expired"


EVENT_TYPES = frozenset(
    value for name, value in vars(EventType).items() if name.isupper() and isinstance(value, str)
)


@dataclass(frozen=True)
class DomainEvent:
    """One change: ``type`` (``opportunity.updated``…), the tenant, the changed row's id
    (``subject_id``), related ids and changed fields in ``data``, and who did it."""

    type: str
    tenant_id: int
    subject_id: int
    data: dict[str, Any] = field(default_factory=dict)
    actor_kind: str = "system"
    actor_user_id: int | None = None
    actor_name: str = ""
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    occurred_at: datetime = field(default_factory=timezone.now)


Subscriber = Callable[[DomainEvent], None]

_subscribers: list[tuple[frozenset[str] | None, Subscriber]] = []


def event_subscribe(
    handler: Subscriber, *, types: Iterable[str] | None = None
) -> Callable[[], None]:
    """Call ``handler`` with every committed event (of ``types`` only, if given).

    Returns a function that unsubscribes it.
    """
    wanted = frozenset(types) if types is not None else None
    if wanted is not None and not wanted <= EVENT_TYPES:
        raise ValueError(f"Unknown event types: {sorted(wanted - EVENT_TYPES)}")
    entry = (wanted, handler)
    _subscribers.append(entry)

    def unsubscribe() -> None:
        if entry in _subscribers:
            _subscribers.remove(entry)

    return unsubscribe


def _handlers(event_type: str) -> list[Subscriber]:
    return [h for wanted, h in _subscribers if wanted is None or event_type in wanted]


def _deliver(event: DomainEvent) -> None:
    for handler in _handlers(event.type):
        try:
            handler(event)
        except Exception:
            logger.exception("subscriber %r failed on %s %s", handler, event.type, event.id)


def event_publish(
    event_type: str, *, tenant_id: int, subject_id: int, actor: Actor, **data: Any
) -> DomainEvent | None:
    """Publish an event after the current transaction commits; None when nobody listens."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"Unknown event type {event_type!r}")
    if not _handlers(event_type):
        return None
    event = DomainEvent(
        type=event_type,
        tenant_id=tenant_id,
        subject_id=subject_id,
        data=data,
        actor_kind=actor.kind,
        actor_user_id=actor.user_id,
        actor_name=actor.name,
    )
    transaction.on_commit(lambda: _deliver(event))
    return event
