"""Writes of the sales desk: a rep replies to a conversation; a member's read mark moves on.

Taking over, handing back, closing and assigning are CRM changes: the desk calls
``crm.services`` for them (which check the rule for reps and record the audit trail).
A reply is stored as a ``Message`` of role ``agent`` (author, author name, delivery
pending) and sent after the commit by :func:`desk.tasks.message_deliver_task` through
the inbox's delivery path, on the conversation's own channel. A rep replying to a
conversation the bot has (or a closed one) takes it over first.

A member's read mark (:class:`desk.models.ConversationReadMark`) only moves forward; the
inbox counts the customer messages after it as unread, and the member's open inboxes are
told (``desk.inbox``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext

from crm.audit import Actor
from crm.models import Conversation, Message
from crm.services import conversation_lock_for, conversation_take_over_locked, message_add
from desk.inbox import inbox_notify_on_commit
from desk.models import ConversationReadMark
from tenants.tasks import enqueue_on_commit

REPLY_MAX_CHARS = 4000

Status = Conversation.Status


@transaction.atomic
def conversation_reply(
    *, conversation: Conversation, author: AbstractBaseUser, text: str
) -> Message:
    """Store the rep's reply (delivery pending) and send it on the conversation's channel
    after the commit. A conversation that is not yet the rep's is taken over first."""
    text = text.strip()
    if not text:
        raise ValidationError({"text": gettext("Write a reply first.")})
    if len(text) > REPLY_MAX_CHARS:
        raise ValidationError(
            {
                "text": gettext("A reply can be up to %(count)s characters.")
                % {"count": REPLY_MAX_CHARS}
            }
        )
    actor = Actor.rep(author)
    locked = conversation_lock_for(conversation=conversation, actor=actor)
    if locked.status != Status.HANDED_OFF or locked.assigned_rep_id is None:
        conversation_take_over_locked(locked=locked, conversation=conversation, actor=actor)
    message = message_add(
        conversation=locked,
        role=Message.Role.AGENT,
        content=text,
        delivery_status=Message.Delivery.PENDING,
        author=author,
    )
    conversation.last_activity_at = locked.last_activity_at

    from desk.tasks import message_deliver_task

    enqueue_on_commit(message_deliver_task, locked.tenant_id, message.pk)
    return message


def conversation_mark_read(
    *, conversation: Conversation, user: Any, at: datetime | None = None
) -> bool:
    """The member read the conversation up to ``at`` (now by default); True when their
    mark moved (it never moves back). The caller holds the conversation's tenant scope."""
    at = at or timezone.now()
    marks = ConversationReadMark.objects.filter(conversation=conversation, user_id=user.pk)
    moved = marks.filter(last_read_at__lt=at).update(last_read_at=at, updated_at=timezone.now())
    if not moved and not marks.exists():
        try:
            with transaction.atomic():
                ConversationReadMark.objects.create(
                    tenant=conversation.tenant,
                    conversation=conversation,
                    user_id=user.pk,
                    last_read_at=at,
                )
            moved = 1
        except IntegrityError:  # another tab of the member created it meanwhile
            moved = marks.filter(last_read_at__lt=at).update(
                last_read_at=at, updated_at=timezone.now()
            )
    if moved:
        inbox_notify_on_commit(
            tenant_id=conversation.tenant_id,
            conversation_id=conversation.pk,
            event="read",
            user_id=user.pk,
        )
    return bool(moved)


@transaction.atomic
def quote_deliver(*, quote: Any, user: AbstractBaseUser) -> Message:
    """A rep sends a quote (approving a draft on the way): the reply that carries it is
    stored by ``quotes.services.quote_send`` and delivered after the commit on the
    conversation's channel, like a rep's reply. Raises ``QuoteRefused`` with the reason."""
    from desk.tasks import message_deliver_task
    from quotes.services import quote_send

    message = quote_send(quote=quote, actor=Actor.rep(user))
    enqueue_on_commit(message_deliver_task, message.tenant_id, message.pk)
    return message
