"""Writes of conversations: open, reopen, flag, hand off, take over, hand back, assign,
close; the turn lease; LLM usage.

Every change of a conversation's state is recorded in the audit trail with its actor
and published as a domain event after the commit (``conversation.handed_off``,
``conversation.closed``…). State changes lock the row and write only their own columns
with an UPDATE: the inbox writes the same row (lease, last activity) meanwhile.

The rule for reps (:func:`conversation_refusal`): only members of the conversation's
tenant act on it, and a conversation a rep took over is that rep's: another rep may not
take it, hand it back or close it; a tenant admin may. Only a tenant admin (or an
operator) assigns a conversation to someone else.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext

from crm.audit import SYSTEM, Action, Actor, audit_record, user_display_name
from crm.events import EventType, event_publish
from crm.models import AuditEntry, Contact, Conversation
from crm.services.contacts import field_changes
from tenants.models import Tenant
from tenants.selectors import membership_for_user, tenant_members

Status = Conversation.Status


def conversation_refusal(*, conversation: Conversation, user: Any) -> str | None:
    """Why ``user`` may not act on the conversation (take over, reply, hand back, close).

    None when they may.
    """
    membership = membership_for_user(user=user)
    if membership is None or membership.tenant_id != conversation.tenant_id:
        return gettext("Only members of the conversation's tenant can work on it.")
    taken_by_other = (
        conversation.status == Status.HANDED_OFF
        and conversation.assigned_rep_id is not None
        and conversation.assigned_rep_id != user.pk
    )
    if taken_by_other and not membership.is_tenant_admin:
        return gettext(
            "Another rep took this conversation over: only they or a tenant admin can act on it."
        )
    return None


def _lock(conversation: Conversation, actor: Actor) -> Conversation:
    """The conversation's row, locked; for a rep, only if the rule lets them act on it."""
    locked = Conversation.objects.select_for_update().get(pk=conversation.pk)
    if actor.kind == AuditEntry.ActorKind.REP:
        refusal = conversation_refusal(conversation=locked, user=actor.user)
        if refusal:
            raise PermissionDenied(refusal)
    return locked


def _update(locked: Conversation, conversation: Conversation, **fields: Any) -> None:
    """Write ``fields`` on the locked row and mirror them on the caller's instance."""
    fields["updated_at"] = timezone.now()
    Conversation.objects.filter(pk=locked.pk).update(**fields)
    for name, value in fields.items():
        setattr(locked, name, value)
        setattr(conversation, name, value)


def _record(
    conversation: Conversation,
    actor: Actor,
    action: str,
    event: str | None,
    *,
    before: str = "",
    after: str = "",
    note: str = "",
    **data: Any,
) -> None:
    audit_record(
        tenant=conversation.tenant,
        action=action,
        actor=actor,
        conversation=conversation,
        from_value=before,
        to_value=after,
        note=note,
    )
    if event is not None:
        event_publish(
            event,
            tenant_id=conversation.tenant_id,
            subject_id=conversation.pk,
            actor=actor,
            contact_id=conversation.contact_id,
            status=conversation.status,
            **data,
        )


def conversation_open(
    *, tenant: Tenant, contact: Contact, channel: str, actor: Actor = SYSTEM
) -> Conversation:
    """The conversation a new message of the contact on ``channel`` belongs to.

    The open one (active or with a rep) if there is one; a conversation closed
    less than ``CONVERSATION_REOPEN_HOURS`` ago is reopened; otherwise a new one
    starts (and its prompt carries the previous one's summary).
    """
    latest = (
        Conversation.objects.filter(contact=contact, channel=channel)
        .order_by("-created_at", "-pk")
        .first()
    )
    if latest is not None and latest.status != Status.CLOSED:
        return latest
    now = timezone.now()
    window = timedelta(hours=settings.CONVERSATION_REOPEN_HOURS)
    if latest is not None and latest.closed_at and now - latest.closed_at < window:
        latest.tenant = tenant
        _update(latest, latest, status=Status.ACTIVE, closed_at=None)
        _record(
            latest,
            actor,
            Action.CONVERSATION_REOPENED,
            EventType.CONVERSATION_REOPENED,
            before=Status.CLOSED,
            after=Status.ACTIVE,
            note="the customer wrote again",
        )
        return latest
    return conversation_start(tenant=tenant, contact=contact, channel=channel, actor=actor)


def conversation_start(
    *, tenant: Tenant, contact: Contact, channel: str, actor: Actor = SYSTEM
) -> Conversation:
    """A new conversation, whatever came before."""
    conversation = Conversation.objects.create(
        tenant=tenant, contact=contact, channel=channel, last_activity_at=timezone.now()
    )
    event_publish(
        EventType.CONVERSATION_CREATED,
        tenant_id=tenant.pk,
        subject_id=conversation.pk,
        actor=actor,
        contact_id=contact.pk,
        channel=channel,
    )
    return conversation


@transaction.atomic
def conversation_flag(*, conversation: Conversation, reason: str, actor: Actor = SYSTEM) -> None:
    """Put the conversation in front of a rep, saying why (recorded when the flag or its
    reason changes, not for every fallback turn of a conversation already flagged)."""
    reason = reason[:300]
    current = (
        Conversation.objects.filter(pk=conversation.pk)
        .values_list("needs_attention", "attention_reason")
        .first()
    )
    _update(conversation, conversation, needs_attention=True, attention_reason=reason)
    if current != (True, reason):
        _record(
            conversation,
            actor,
            Action.CONVERSATION_FLAGGED,
            EventType.CONVERSATION_FLAGGED,
            note=reason,
            reason=reason,
        )


@transaction.atomic
def conversation_hand_off(*, conversation: Conversation, reason: str, actor: Actor) -> Conversation:
    """The bot hands the conversation to a rep (the customer asked for one, or the agent
    decided so): handed off and flagged with the reason. The bot answers nothing more in
    it until a rep hands it back."""
    locked = _lock(conversation, actor)
    before = locked.status
    flag = f"handoff requested: {reason}"[:300]
    _update(
        locked, conversation, status=Status.HANDED_OFF, needs_attention=True, attention_reason=flag
    )
    _record(
        locked,
        actor,
        Action.CONVERSATION_HANDED_OFF,
        EventType.CONVERSATION_HANDED_OFF,
        before=before,
        after=Status.HANDED_OFF,
        note=reason,
        reason=reason,
        assigned_rep_id=locked.assigned_rep_id,
    )
    return conversation


def conversation_take_over_locked(
    *, locked: Conversation, conversation: Conversation, actor: Actor
) -> None:
    """:func:`conversation_take_over` on a row the caller already locked and checked."""
    before = locked.status
    _update(
        locked,
        conversation,
        status=Status.HANDED_OFF,
        assigned_rep_id=actor.user_id,
        closed_at=None,
        needs_attention=False,
        attention_reason="",
    )
    _record(
        locked,
        actor,
        Action.CONVERSATION_TAKEN_OVER,
        EventType.CONVERSATION_HANDED_OFF,
        before=before,
        after=Status.HANDED_OFF,
        note=actor.name,
        assigned_rep_id=actor.user_id,
        taken_over=True,
    )


@transaction.atomic
def conversation_take_over(*, conversation: Conversation, actor: Actor) -> Conversation:
    """The rep takes the conversation from the bot: handed off, assigned to them, unflagged.

    From then on the bot answers nothing in it (customer messages wait for the rep),
    and a bot reply written before the take-over is not sent.
    """
    if actor.kind != AuditEntry.ActorKind.REP:
        raise ValueError("Only a sales rep takes a conversation over.")
    locked = _lock(conversation, actor)
    conversation_take_over_locked(locked=locked, conversation=conversation, actor=actor)
    return conversation


def conversation_lock_for(*, conversation: Conversation, actor: Actor) -> Conversation:
    """Lock the conversation's row for a change by ``actor`` (a rep must be allowed to act).

    The caller holds a transaction.
    """
    return _lock(conversation, actor)


@transaction.atomic
def conversation_hand_back(*, conversation: Conversation, actor: Actor) -> Conversation:
    """Give the conversation back to the bot: active again and unflagged; the rep stays
    assigned (the lead is still theirs). The bot answers the customer's next message."""
    locked = _lock(conversation, actor)
    before = locked.status
    _update(
        locked,
        conversation,
        status=Status.ACTIVE,
        closed_at=None,
        needs_attention=False,
        attention_reason="",
    )
    _record(
        locked,
        actor,
        Action.CONVERSATION_HANDED_BACK,
        EventType.CONVERSATION_HANDED_BACK,
        before=before,
        after=Status.ACTIVE,
    )
    return conversation


@transaction.atomic
def conversation_close(
    *, conversation: Conversation, actor: Actor = SYSTEM, summary: str | None = None
) -> Conversation:
    """Close the conversation (and unflag it), keeping ``summary`` for the next one. The
    customer's next message reopens it, or starts a new one after
    ``CONVERSATION_REOPEN_HOURS``."""
    locked = _lock(conversation, actor)
    before = locked.status
    fields: dict[str, Any] = {
        "status": Status.CLOSED,
        "closed_at": timezone.now(),
        "needs_attention": False,
    }
    if summary is not None:
        fields["summary"] = summary
    _update(locked, conversation, **fields)
    _record(
        locked,
        actor,
        Action.CONVERSATION_CLOSED,
        EventType.CONVERSATION_CLOSED,
        before=before,
        after=Status.CLOSED,
    )
    return conversation


@transaction.atomic
def conversation_assign(*, conversation: Conversation, rep: Any, actor: Actor) -> Conversation:
    """Give the conversation to ``rep`` (a member of its tenant; None unassigns).

    Tenant admins and operators assign; a rep takes a conversation with "take over".
    """
    locked = Conversation.objects.select_for_update().get(pk=conversation.pk)
    if actor.kind == AuditEntry.ActorKind.REP:
        membership = membership_for_user(user=actor.user)
        is_admin = (
            membership is not None
            and membership.tenant_id == locked.tenant_id
            and membership.is_tenant_admin
        )
        if not (is_admin or getattr(actor.user, "is_superuser", False)):
            raise PermissionDenied(
                "Only a tenant admin assigns conversations; a rep takes one over."
            )
    if rep is not None and not tenant_members(tenant=locked.tenant).filter(pk=rep.pk).exists():
        raise ValidationError(
            {"assigned_rep": gettext("The assigned rep must be a member of this tenant.")}
        )
    rep_id = rep.pk if rep is not None else None
    if locked.assigned_rep_id != rep_id:
        before = user_display_name(locked.assigned_rep) if locked.assigned_rep_id else ""
        _update(locked, conversation, assigned_rep_id=rep_id)
        _record(
            locked,
            actor,
            Action.CONVERSATION_ASSIGNED,
            EventType.CONVERSATION_ASSIGNED,
            before=before,
            after=user_display_name(rep) if rep is not None else "nobody",
            assigned_rep_id=rep_id,
        )
    conversation.assigned_rep_id = rep_id
    return conversation


EDITABLE_FIELDS = ("contact", "channel", "intent_category", "summary", "attention_reason")


@transaction.atomic
def conversation_edit(
    *, conversation: Conversation, changed: list[str], actor: Actor, created: bool = False
) -> Conversation:
    """Save a conversation a form (the admin) created, or what it changed on one (already
    set on it; only those columns are written: the inbox writes the row too). Status and
    assignment change through their own services."""
    if created:
        conversation.last_activity_at = conversation.last_activity_at or timezone.now()
        conversation.save()
        event_publish(
            EventType.CONVERSATION_CREATED,
            tenant_id=conversation.tenant_id,
            subject_id=conversation.pk,
            actor=actor,
            contact_id=conversation.contact_id,
            channel=conversation.channel,
        )
        return conversation
    fields = [name for name in changed if name in EDITABLE_FIELDS]
    if fields:
        old = Conversation.objects.select_for_update().get(pk=conversation.pk)
        conversation.save(update_fields=[*fields, "updated_at"])
        changes = field_changes(old, conversation, fields)
        if changes:
            audit_record(
                tenant=conversation.tenant,
                action=Action.CONVERSATION_UPDATED,
                actor=actor,
                conversation=conversation,
                changes=changes,
            )
    if "assigned_rep" in changed:
        conversation_assign(conversation=conversation, rep=conversation.assigned_rep, actor=actor)
    return conversation


def conversation_usage_add(
    *, conversation_id: int, prompt_tokens: int, completion_tokens: int
) -> None:
    """Add an LLM turn's token counts to the conversation's totals."""
    Conversation.objects.filter(pk=conversation_id).update(
        prompt_tokens=F("prompt_tokens") + prompt_tokens,
        completion_tokens=F("completion_tokens") + completion_tokens,
    )


# The turn lease: one worker answers a conversation at a time --------------------------


def conversation_lease_acquire(*, conversation_id: int, token: str) -> bool:
    """Take the conversation for a turn unless a live lease holds it."""
    now = timezone.now()
    until = now + timedelta(seconds=settings.INBOX_LEASE_SECONDS)
    return (
        Conversation.objects.filter(pk=conversation_id)
        .filter(Q(turn_lease_until__isnull=True) | Q(turn_lease_until__lt=now))
        .update(turn_lease_until=until, turn_lease_token=token)
        == 1
    )


def conversation_lease_renew(*, conversation_id: int, token: str) -> bool:
    """Extend a lease this worker holds; False when it lost it (it expired and another took it)."""
    until = timezone.now() + timedelta(seconds=settings.INBOX_LEASE_SECONDS)
    return (
        Conversation.objects.filter(pk=conversation_id, turn_lease_token=token).update(
            turn_lease_until=until
        )
        == 1
    )


def conversation_lease_release(*, conversation_id: int, token: str) -> None:
    Conversation.objects.filter(pk=conversation_id, turn_lease_token=token).update(
        turn_lease_until=None, turn_lease_token=""
    )
