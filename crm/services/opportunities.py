"""Writes of lead opportunities and their product recommendations.

The agent registers an opportunity when a customer's need is clear
(:func:`opportunity_register`) and recommends products for it
(:func:`recommendation_record`); reps move its status and assign it. Every change is
recorded in the audit trail with its actor and published after the commit
(``opportunity.created``, ``opportunity.updated``, ``recommendation.created``).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from crm.audit import SYSTEM, Action, Actor, as_actor, audit_record
from crm.events import EventType, event_publish
from crm.models import (
    AuditEntry,
    Contact,
    Conversation,
    LeadOpportunity,
    OpportunityProductRecommendation,
)
from crm.services.contacts import contact_update, field_changes
from tenants.selectors import tenant_members

Status = LeadOpportunity.Status


def _rep_label(user: Any) -> str:
    return user.get_username() if user is not None else ""


def _lock(opportunity: LeadOpportunity) -> LeadOpportunity:
    return LeadOpportunity.all_objects.select_for_update().get(pk=opportunity.pk)


def _changed(
    opportunity: LeadOpportunity,
    actor: Actor,
    action: str,
    changes: dict[str, list[Any]],
    *,
    before: Any = "",
    after: Any = "",
    event: str = EventType.OPPORTUNITY_UPDATED,
) -> AuditEntry:
    entry = audit_record(
        tenant=opportunity.tenant,
        action=action,
        actor=actor,
        opportunity=opportunity,
        from_value=before,
        to_value=after,
        changes=changes,
    )
    event_publish(
        event,
        tenant_id=opportunity.tenant_id,
        subject_id=opportunity.pk,
        actor=actor,
        contact_id=opportunity.contact_id,
        conversation_id=opportunity.conversation_id,
        changes=changes,
    )
    return entry


@transaction.atomic
def opportunity_register(
    *,
    contact: Contact,
    conversation: Conversation | None,
    problem_statement: str,
    status: str = Status.QUALIFIED,
    actor: Actor,
) -> tuple[LeadOpportunity, bool]:
    """The conversation's open opportunity (not closed, not won), created or updated with
    the customer's need; ``(opportunity, created)``. The contact's problem statement
    follows it. A quoted opportunity stays quoted when the need is restated."""
    if status not in Status.values:
        raise ValidationError({"status": f"Unknown opportunity status {status!r}."})
    opportunity = None
    if conversation is not None:
        opportunity = (
            LeadOpportunity.objects.filter(conversation=conversation)
            .exclude(status__in=(Status.CLOSED, Status.WON))
            .order_by("-created_at")
            .first()
        )
    created = opportunity is None
    if opportunity is None:
        opportunity = LeadOpportunity.objects.create(
            tenant=contact.tenant,
            contact=contact,
            conversation=conversation,
            problem_statement=problem_statement,
            status=status,
        )
        _changed(
            opportunity,
            actor,
            Action.OPPORTUNITY_CREATED,
            {"problem_statement": [None, problem_statement], "status": [None, status]},
            after=status,
            event=EventType.OPPORTUNITY_CREATED,
        )
    else:
        old = LeadOpportunity(
            problem_statement=opportunity.problem_statement, status=opportunity.status
        )
        if opportunity.status == Status.QUOTED and status == Status.QUALIFIED:
            status = Status.QUOTED  # a quote was sent: refining the need does not undo it
        opportunity.problem_statement, opportunity.status = problem_statement, status
        changes = field_changes(old, opportunity, ["problem_statement", "status"])
        if changes:
            opportunity.save(update_fields=[*changes, "updated_at"])
            action = (
                Action.OPPORTUNITY_STATUS_CHANGED
                if list(changes) == ["status"]
                else Action.OPPORTUNITY_UPDATED
            )
            before, after = changes.get("status", ["", ""])
            _changed(opportunity, actor, action, changes, before=before, after=after)
    if contact.problem_statement != problem_statement:
        contact_update(
            contact=contact, actor=actor, changes={"problem_statement": problem_statement}
        )
    return opportunity, created


@transaction.atomic
def opportunity_create(
    *,
    contact: Contact,
    conversation: Conversation | None,
    problem_statement: str,
    actor: Actor,
    value: Any = None,
    currency: str = "",
    expected_close_date: Any = None,
    next_step: str = "",
) -> LeadOpportunity:
    """A new opportunity, whatever the conversation already has (a rep creates one from
    the desk), with its deal fields; a rep who creates it is its assigned rep. The
    contact's problem statement follows it."""
    if conversation is not None and conversation.contact_id != contact.pk:
        raise ValidationError({"contact": gettext("The contact must be the conversation's.")})
    rep = None
    if actor.kind == AuditEntry.ActorKind.REP:  # an operator is no member: left unassigned
        rep = tenant_members(tenant=contact.tenant).filter(pk=actor.user.pk).first()
    opportunity = LeadOpportunity(
        tenant=contact.tenant,
        contact=contact,
        conversation=conversation,
        problem_statement=problem_statement,
        status=Status.QUALIFIED,
        value=value,
        currency=currency.upper(),
        expected_close_date=expected_close_date,
        next_step=next_step,
        assigned_rep=rep,
    )
    opportunity.full_clean(exclude=["tenant", "contact", "conversation", "assigned_rep"])
    opportunity.save()
    fields = ["problem_statement", "status", "value", "currency", "expected_close_date"]
    changes = {
        name: [None, str(getattr(opportunity, name))]
        for name in [*fields, "next_step"]
        if getattr(opportunity, name) not in (None, "")
    }
    if rep is not None:
        changes["assigned_rep"] = [None, _rep_label(rep)]
    _changed(
        opportunity,
        actor,
        Action.OPPORTUNITY_CREATED,
        changes,
        after=opportunity.status,
        event=EventType.OPPORTUNITY_CREATED,
    )
    if contact.problem_statement != problem_statement:
        contact_update(
            contact=contact, actor=actor, changes={"problem_statement": problem_statement}
        )
    return opportunity


@transaction.atomic
def opportunity_status_set(
    *, opportunity: LeadOpportunity, status: str, actor: Actor | Any
) -> AuditEntry | None:
    """Move the opportunity to ``status`` and record who did it; None when nothing changed."""
    actor = as_actor(actor)
    if status not in Status.values:
        raise ValidationError({"status": f"Unknown opportunity status {status!r}."})
    current = _lock(opportunity)
    opportunity.status = status
    if current.status == status:
        return None
    now = timezone.now()
    LeadOpportunity.all_objects.filter(pk=opportunity.pk).update(status=status, updated_at=now)
    opportunity.updated_at = now
    return _changed(
        current,
        actor,
        Action.OPPORTUNITY_STATUS_CHANGED,
        {"status": [current.status, status]},
        before=current.status,
        after=status,
    )


@transaction.atomic
def opportunity_assign(
    *, opportunity: LeadOpportunity, rep: Any, actor: Actor | Any
) -> AuditEntry | None:
    """Give the opportunity to ``rep`` (a member of its tenant; None unassigns) and record it."""
    actor = as_actor(actor)
    current = _lock(opportunity)
    if rep is not None and not tenant_members(tenant=current.tenant).filter(pk=rep.pk).exists():
        raise ValidationError(
            {"assigned_rep": gettext("The assigned rep must be a member of this tenant.")}
        )
    opportunity.assigned_rep = rep
    if current.assigned_rep_id == (rep.pk if rep is not None else None):
        return None
    now = timezone.now()
    LeadOpportunity.all_objects.filter(pk=opportunity.pk).update(assigned_rep=rep, updated_at=now)
    opportunity.updated_at = now
    before, after = _rep_label(current.assigned_rep), _rep_label(rep)
    return _changed(
        current,
        actor,
        Action.OPPORTUNITY_ASSIGNED,
        {"assigned_rep": [before, after]},
        before=before,
        after=after,
    )


EDITABLE_FIELDS = (
    "contact",
    "conversation",
    "problem_statement",
    "value",
    "currency",
    "expected_close_date",
    "next_step",
)


@transaction.atomic
def opportunity_edit(
    *, opportunity: LeadOpportunity, changed: list[str], actor: Actor, created: bool
) -> LeadOpportunity:
    """Save an opportunity a form (the admin) created or edited. Status and assigned rep
    go through :func:`opportunity_status_set` and :func:`opportunity_assign`; the other
    fields ``changed`` names are already set on ``opportunity``."""
    if created:
        opportunity.save()
        _changed(
            opportunity,
            actor,
            Action.OPPORTUNITY_CREATED,
            {
                "problem_statement": [None, opportunity.problem_statement],
                "status": [None, opportunity.status],
                "assigned_rep": [None, _rep_label(opportunity.assigned_rep) or None],
            },
            after=opportunity.status,
            event=EventType.OPPORTUNITY_CREATED,
        )
        return opportunity
    status, rep = opportunity.status, opportunity.assigned_rep
    fields = [name for name in changed if name in EDITABLE_FIELDS]
    if fields:
        old = _lock(opportunity)
        opportunity.save(update_fields=[*fields, "updated_at"])
        changes = field_changes(old, opportunity, fields)
        if changes:
            _changed(opportunity, actor, Action.OPPORTUNITY_UPDATED, changes)
    if "status" in changed:
        opportunity_status_set(opportunity=opportunity, status=status, actor=actor)
    if "assigned_rep" in changed:
        opportunity_assign(opportunity=opportunity, rep=rep, actor=actor)
    return opportunity


@transaction.atomic
def recommendation_record(
    *,
    opportunity: LeadOpportunity,
    product: Any,
    justification: str,
    actor: Actor = SYSTEM,
) -> OpportunityProductRecommendation:
    """Recommend ``product`` (a catalog product) for the opportunity, with why; a product
    recommended again gets the new justification (a removed recommendation comes back)."""
    row = OpportunityProductRecommendation.all_objects.filter(
        opportunity=opportunity, product_sku=product.sku
    ).first()
    created = row is None
    if row is None:
        row = OpportunityProductRecommendation(
            tenant=opportunity.tenant, opportunity=opportunity, product_sku=product.sku
        )
    before = "" if created else row.justification
    unchanged = (
        not created
        and not row.is_deleted
        and row.product_id == product.pk
        and row.product_name == product.name
        and row.justification == justification
    )
    if unchanged:
        return row
    row.product = product
    row.product_name = product.name
    row.justification = justification
    row.is_deleted, row.deleted_at = False, None
    row.save()
    # The opportunity shows its recommendations: an incremental sync (updated_since)
    # must see it changed.
    LeadOpportunity.objects.filter(pk=opportunity.pk).update(updated_at=row.updated_at)
    audit_record(
        tenant=opportunity.tenant,
        action=Action.RECOMMENDATION_CREATED if created else Action.RECOMMENDATION_UPDATED,
        actor=actor,
        opportunity=opportunity,
        to_value=product.sku,
        changes={"justification": [before or None, justification]},
        note=product.name,
    )
    event_publish(
        EventType.RECOMMENDATION_CREATED if created else EventType.RECOMMENDATION_UPDATED,
        tenant_id=opportunity.tenant_id,
        subject_id=row.pk,
        actor=actor,
        opportunity_id=opportunity.pk,
        product_sku=product.sku,
    )
    return row


CRM_FIELDS = ("crm_opportunity_id", "value", "currency", "expected_close_date", "next_step")


@transaction.atomic
def opportunity_crm_update(
    *, opportunity: LeadOpportunity, changes: dict[str, Any], actor: Actor
) -> LeadOpportunity:
    """Set the deal fields a CRM keeps (``CRM_FIELDS``: its id for the opportunity, value,
    currency, expected close date, next step); one audit entry and one
    ``opportunity.updated`` for what changed, nothing when nothing did."""
    unknown = set(changes) - set(CRM_FIELDS)
    if unknown:
        raise ValueError(f"Not a CRM field of an opportunity: {', '.join(sorted(unknown))}")
    current = _lock(opportunity)
    for name, value in changes.items():
        setattr(opportunity, name, value)
    diff = field_changes(current, opportunity, list(changes))
    if not diff:
        return opportunity
    opportunity.save(update_fields=[*diff, "updated_at"])
    _changed(opportunity, actor, Action.OPPORTUNITY_UPDATED, diff)
    return opportunity
