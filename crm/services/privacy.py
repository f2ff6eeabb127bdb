"""GDPR: a contact's data exported as JSON, and a contact erased.

:func:`contact_export` gathers everything the CRM holds about one contact (the contact,
its company and division, its conversations with their messages, its opportunities with
their recommendations, the audit trail about them) and records who exported it.

:func:`contact_erase` removes the personal data and keeps the aggregates: the contact's
name, e-mail, phone, CRM and platform ids and problem statement are cleared, message
contents, metadata and delivery errors are replaced, conversation summaries and
opportunity statements too, and the audit trail about the contact loses the values it
recorded; rows, counts, statuses, dates, channels, products and token usage stay, so
dashboards and reports still add up. The erasure is recorded in the audit trail, and
``contact.erased`` is published so other apps erase what they hold (the raw webhook
events, in ``channels_app``).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import CharField, Q, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from crm.audit import Action, Actor, audit_record
from crm.events import EventType, event_publish
from crm.models import (
    AuditEntry,
    Contact,
    Conversation,
    LeadOpportunity,
    Message,
    OpportunityProductRecommendation,
)

ERASED = "[erased]"


def _when(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def contact_data(*, contact: Contact) -> dict[str, Any]:
    """Everything the CRM holds about the contact, as JSON-ready data."""
    division = contact.division
    conversations = Conversation.all_objects.filter(contact=contact).order_by("created_at", "pk")
    messages = Message.all_objects.filter(conversation__contact=contact).order_by(
        "created_at", "pk"
    )
    by_conversation: dict[int, list[dict[str, Any]]] = {}
    for message in messages:
        by_conversation.setdefault(message.conversation_id, []).append(
            {
                "id": message.pk,
                "role": message.role,
                "content": message.content,
                "created_at": _when(message.created_at),
                "delivery_status": message.delivery_status,
                "metadata": message.metadata,
                "author_name": message.author_name,
            }
        )
    opportunities = LeadOpportunity.all_objects.filter(contact=contact).order_by("created_at", "pk")
    recommendations: dict[int, list[dict[str, Any]]] = {}
    for row in OpportunityProductRecommendation.all_objects.filter(
        opportunity__contact=contact
    ).order_by("pk"):
        recommendations.setdefault(row.opportunity_id, []).append(
            {
                "product_sku": row.product_sku,
                "product_name": row.product_name,
                "justification": row.justification,
            }
        )
    trail = AuditEntry.objects.filter(contact=contact).order_by("created_at", "pk")
    return {
        "contact": {
            "id": contact.pk,
            "full_name": contact.full_name,
            "email": contact.email,
            "phone_number": contact.phone_number,
            "crm_contact_id": contact.crm_contact_id,
            "platform": contact.platform,
            "platform_user_id": contact.platform_user_id,
            "problem_statement": contact.problem_statement,
            "created_at": _when(contact.created_at),
            "company": division.company.name if division is not None else None,
            "company_fiscal_id": division.company.fiscal_id if division is not None else None,
            "division": division.name if division is not None else None,
        },
        "conversations": [
            {
                "id": c.pk,
                "channel": c.channel,
                "status": c.status,
                "created_at": _when(c.created_at),
                "closed_at": _when(c.closed_at),
                "summary": c.summary,
                "messages": by_conversation.get(c.pk, []),
            }
            for c in conversations
        ],
        "opportunities": [
            {
                "id": o.pk,
                "status": o.status,
                "problem_statement": o.problem_statement,
                "created_at": _when(o.created_at),
                "conversation_id": o.conversation_id,
                "recommendations": recommendations.get(o.pk, []),
            }
            for o in opportunities
        ],
        "audit_trail": [
            {
                "when": _when(e.created_at),
                "action": e.action,
                "by": e.actor_name or e.actor_kind,
                "changes": e.changes,
            }
            for e in trail
        ],
    }


@transaction.atomic
def contact_export(*, contact: Contact, actor: Actor) -> dict[str, Any]:
    """The contact's data (:func:`contact_data`), the export recorded in its audit trail."""
    data = contact_data(contact=contact)
    audit_record(
        tenant=contact.tenant, action=Action.CONTACT_EXPORTED, actor=actor, contact=contact
    )
    data["exported_at"] = _when(timezone.now())
    return data


@transaction.atomic
def contact_erase(*, contact: Contact, actor: Actor) -> dict[str, int]:
    """Erase the contact's personal data, keeping the aggregates; returns what it changed."""
    contact = Contact.all_objects.select_for_update().get(pk=contact.pk)
    identity = {"platform": contact.platform, "platform_user_id": contact.platform_user_id or ""}
    conversations = Conversation.all_objects.filter(contact=contact)
    conversation_ids = list(conversations.values_list("pk", flat=True))
    now = timezone.now()
    counts = {
        "messages": Message.all_objects.filter(conversation_id__in=conversation_ids).update(
            content=ERASED, metadata={}, delivery_error="", author_name="", updated_at=now
        ),
        # Provider ids name the chat ("tg:<account>:<chat id>:<n>"): kept unique, not readable.
        "message_ids": Message.all_objects.filter(
            conversation_id__in=conversation_ids, external_id__isnull=False
        ).update(external_id=Concat(Value("erased:"), Cast("pk", CharField()))),
        "conversations": conversations.update(summary="", attention_reason="", updated_at=now),
        "opportunities": LeadOpportunity.all_objects.filter(contact=contact).update(
            problem_statement=ERASED, updated_at=now
        ),
        "recommendations": OpportunityProductRecommendation.all_objects.filter(
            opportunity__contact=contact
        ).update(justification=ERASED, updated_at=now),
    }
    opportunity_ids = list(
        LeadOpportunity.all_objects.filter(contact=contact).values_list("pk", flat=True)
    )
    # The trail keeps who did what and when, not the personal values it recorded.
    counts["audit_entries"] = AuditEntry.objects.filter(contact=contact).update(
        changes={}, from_value="", to_value="", note=""
    ) + AuditEntry.objects.filter(
        Q(opportunity_id__in=opportunity_ids) | Q(conversation_id__in=conversation_ids)
    ).update(changes={}, note="")
    contact.full_name = ""
    contact.email = ""
    contact.phone_number = ""
    contact.crm_contact_id = None
    contact.platform_user_id = None
    contact.problem_statement = ""
    contact.save()
    audit_record(
        tenant=contact.tenant,
        action=Action.CONTACT_ERASED,
        actor=actor,
        contact=contact,
        note=", ".join(f"{name}: {count}" for name, count in counts.items()),
    )
    event_publish(
        EventType.CONTACT_ERASED,
        tenant_id=contact.tenant_id,
        subject_id=contact.pk,
        actor=actor,
        conversation_ids=conversation_ids,
        **identity,
    )
    return counts
