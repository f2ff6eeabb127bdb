"""Writes of the sales desk: a rep takes a conversation over, replies, hands it back, closes it.

Callers hold the tenant's scope. Every action locks the conversation's row, checks
the rule on the locked row (:func:`conversation_refusal`) and records who did what in
the admin's history with a dotted action name (``desk.conversation.taken_over``…);
a reply records its author on the message itself.

The rule: only members of the conversation's tenant act on it, and a conversation a
rep took over is that rep's: another rep may not reply to it, take it, hand it back
or close it; a tenant admin may. A rep replying to a conversation the bot has (or a
closed one) takes it over first.

A reply is stored as a ``Message`` of role ``agent`` (author, author name, delivery
pending) and sent after the commit by :func:`desk.tasks.message_deliver_task`
through the inbox's delivery path, on the conversation's own channel.
"""

from __future__ import annotations

from typing import Any

from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from crm.models import Conversation, Message
from crm.services import message_add
from tenants.selectors import membership_for_user, tenant_members
from tenants.tasks import enqueue_on_commit

REPLY_MAX_CHARS = 4000

Status = Conversation.Status


class Action:
    """The dotted names recorded in the admin's history."""

    TAKEN_OVER = "desk.conversation.taken_over"
    HANDED_BACK = "desk.conversation.handed_back"
    CLOSED = "desk.conversation.closed"
    ASSIGNED = "desk.conversation.assigned"


def user_display_name(user: Any) -> str:
    """How a rep is named to customers and in the transcript."""
    return (user.get_full_name() or user.get_username()).strip()


def conversation_refusal(*, conversation: Conversation, user: Any) -> str | None:
    """Why ``user`` may not act on the conversation (take over, reply, hand back, close).

    None when they may.
    """
    membership = membership_for_user(user=user)
    if membership is None or membership.tenant_id != conversation.tenant_id:
        return "Only members of the conversation's tenant can work on it."
    taken_by_other = (
        conversation.status == Status.HANDED_OFF
        and conversation.assigned_rep_id is not None
        and conversation.assigned_rep_id != user.pk
    )
    if taken_by_other and not membership.is_tenant_admin:
        return "Another rep took this conversation over: only they or a tenant admin can act on it."
    return None


def _lock(conversation: Conversation, user: Any) -> Conversation:
    locked = Conversation.objects.select_for_update().get(pk=conversation.pk)
    refusal = conversation_refusal(conversation=locked, user=user)
    if refusal:
        raise PermissionDenied(refusal)
    return locked


def _update(conversation: Conversation, **fields: Any) -> None:
    fields["updated_at"] = timezone.now()
    Conversation.objects.filter(pk=conversation.pk).update(**fields)
    for name, value in fields.items():
        setattr(conversation, name, value)


def _record(conversation: Conversation, actor: Any, action: str, detail: str = "") -> None:
    LogEntry.objects.log_actions(
        user_id=actor.pk,
        queryset=[conversation],
        action_flag=CHANGE,
        change_message=f"{action}: {detail}" if detail else action,
        single_object=True,
    )


def _take(locked: Conversation, conversation: Conversation, actor: Any) -> None:
    _update(
        locked,
        status=Status.HANDED_OFF,
        assigned_rep_id=actor.pk,
        closed_at=None,
        needs_attention=False,
        attention_reason="",
    )
    for name in ("status", "assigned_rep_id", "closed_at", "needs_attention", "attention_reason"):
        setattr(conversation, name, getattr(locked, name))
    _record(locked, actor, Action.TAKEN_OVER, user_display_name(actor))


@transaction.atomic
def conversation_take_over(*, conversation: Conversation, actor: AbstractBaseUser) -> Conversation:
    """The rep takes the conversation from the bot: handed off, assigned to them, unflagged.

    From then on the bot answers nothing in it (customer messages wait for the rep),
    and a bot reply written before the take-over is not sent.
    """
    locked = _lock(conversation, actor)
    _take(locked, conversation, actor)
    return conversation


@transaction.atomic
def conversation_reply(
    *, conversation: Conversation, author: AbstractBaseUser, text: str
) -> Message:
    """Store the rep's reply (delivery pending) and send it on the conversation's channel
    after the commit. A conversation that is not yet the rep's is taken over first."""
    text = text.strip()
    if not text:
        raise ValidationError({"text": "Write a reply first."})
    if len(text) > REPLY_MAX_CHARS:
        raise ValidationError({"text": f"A reply can be up to {REPLY_MAX_CHARS} characters."})
    locked = _lock(conversation, author)
    if locked.status != Status.HANDED_OFF or locked.assigned_rep_id is None:
        _take(locked, conversation, author)
    message = message_add(
        conversation=locked,
        role=Message.Role.AGENT,
        content=text,
        delivery_status=Message.Delivery.PENDING,
    )
    message.author = author  # type: ignore[assignment]
    message.author_name = user_display_name(author)[:150]
    message.save(update_fields=["author", "author_name", "updated_at"])
    conversation.last_activity_at = locked.last_activity_at

    from desk.tasks import message_deliver_task

    enqueue_on_commit(message_deliver_task, locked.tenant_id, message.pk)
    return message


@transaction.atomic
def conversation_hand_back(*, conversation: Conversation, actor: AbstractBaseUser) -> Conversation:
    """Give the conversation back to the bot: active again and unflagged; the rep stays
    assigned (the lead is still theirs). The bot answers the customer's next message."""
    locked = _lock(conversation, actor)
    _update(
        locked, status=Status.ACTIVE, closed_at=None, needs_attention=False, attention_reason=""
    )
    for name in ("status", "closed_at", "needs_attention", "attention_reason"):
        setattr(conversation, name, getattr(locked, name))
    _record(locked, actor, Action.HANDED_BACK)
    return conversation


@transaction.atomic
def conversation_close(*, conversation: Conversation, actor: AbstractBaseUser) -> Conversation:
    """Close the conversation (and unflag it). The customer's next message reopens it, or
    starts a new one after ``CONVERSATION_REOPEN_HOURS``."""
    locked = _lock(conversation, actor)
    _update(locked, status=Status.CLOSED, closed_at=timezone.now(), needs_attention=False)
    for name in ("status", "closed_at", "needs_attention"):
        setattr(conversation, name, getattr(locked, name))
    _record(locked, actor, Action.CLOSED)
    return conversation


@transaction.atomic
def conversation_assign(
    *, conversation: Conversation, rep: AbstractBaseUser | None, actor: AbstractBaseUser
) -> Conversation:
    """Give the conversation to ``rep`` (a member of its tenant; None unassigns).

    Tenant admins and operators assign; a rep takes a conversation with "take over".
    """
    locked = Conversation.objects.select_for_update().get(pk=conversation.pk)
    membership = membership_for_user(user=actor)
    is_admin = (
        membership is not None
        and membership.tenant_id == locked.tenant_id
        and membership.is_tenant_admin
    )
    if not (is_admin or getattr(actor, "is_superuser", False)):
        raise PermissionDenied("Only a tenant admin assigns conversations; a rep takes one over.")
    if rep is not None and not tenant_members(tenant=locked.tenant).filter(pk=rep.pk).exists():
        raise ValidationError({"assigned_rep": "The assigned rep must be a member of this tenant."})
    rep_id = rep.pk if rep is not None else None
    if locked.assigned_rep_id != rep_id:
        _update(locked, assigned_rep_id=rep_id)
        _record(locked, actor, Action.ASSIGNED, user_display_name(rep) if rep else "nobody")
    conversation.assigned_rep_id = rep_id
    return conversation
