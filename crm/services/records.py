"""Writes of CRM rows edited in the admin's generic forms and actions: save one, soft
delete, restore, delete permanently (operators).

A contact, conversation or opportunity saved from a form goes through its own service
(so its changes reach the audit trail and the events); deleting or restoring a
conversation or an opportunity is recorded in its audit trail too.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import Model

from crm.audit import Action, Actor, audit_record
from crm.models import Contact, Conversation, LeadOpportunity
from crm.services.contacts import contact_edit
from crm.services.conversations import conversation_edit
from crm.services.opportunities import opportunity_edit
from tenants.scoping import SoftDeleteQuerySet


@transaction.atomic
def record_save(*, obj: Model, changed: list[str], actor: Actor, created: bool) -> None:
    """Save a CRM row a form created or changed (``changed``: the fields it changed)."""
    if isinstance(obj, Contact):
        contact_edit(contact=obj, changed=changed, actor=actor, created=created)
    elif isinstance(obj, Conversation):
        conversation_edit(conversation=obj, changed=changed, actor=actor, created=created)
    elif isinstance(obj, LeadOpportunity):
        opportunity_edit(opportunity=obj, changed=changed, actor=actor, created=created)
    else:  # companies, divisions, messages, recommendations: no trail of their own
        obj.save()


def _trail(rows: Iterable[Any], actor: Actor, actions: tuple[str, str]) -> None:
    """Record ``actions`` (for a conversation, for an opportunity) on the rows that keep
    a trail."""
    on_conversation, on_opportunity = actions
    for row in rows:
        if isinstance(row, Conversation):
            audit_record(tenant=row.tenant, action=on_conversation, actor=actor, conversation=row)
        elif isinstance(row, LeadOpportunity):
            audit_record(tenant=row.tenant, action=on_opportunity, actor=actor, opportunity=row)


DELETED = (Action.CONVERSATION_DELETED, Action.OPPORTUNITY_DELETED)
RESTORED = (Action.CONVERSATION_RESTORED, Action.OPPORTUNITY_RESTORED)


@transaction.atomic
def records_soft_delete(*, rows: Iterable[Any], actor: Actor) -> int:
    """Mark the rows deleted (they can be restored)."""
    rows = list(rows)
    for row in rows:
        row.delete()
    _trail(rows, actor, DELETED)
    return len(rows)


@transaction.atomic
def records_restore(*, queryset: SoftDeleteQuerySet[Any], actor: Actor) -> int:
    rows = list(queryset.filter(is_deleted=True))
    count = int(queryset.filter(pk__in=[r.pk for r in rows]).restore())
    _trail(rows, actor, RESTORED)
    return count


@transaction.atomic
def records_hard_delete(*, queryset: SoftDeleteQuerySet[Any], actor: Actor) -> int:
    """Remove the rows for good (operators only; their audit entries go with them)."""
    return int(queryset.hard_delete()[0])
