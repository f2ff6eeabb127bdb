"""Writes of the sales desk: a rep replies to a conversation.

Taking over, handing back, closing and assigning are CRM changes: the desk calls
``crm.services`` for them (which check the rule for reps and record the audit trail).
A reply is stored as a ``Message`` of role ``agent`` (author, author name, delivery
pending) and sent after the commit by :func:`desk.tasks.message_deliver_task` through
the inbox's delivery path, on the conversation's own channel. A rep replying to a
conversation the bot has (or a closed one) takes it over first.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from crm.audit import Actor
from crm.models import Conversation, Message
from crm.services import conversation_lock_for, conversation_take_over_locked, message_add
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
        raise ValidationError({"text": "Write a reply first."})
    if len(text) > REPLY_MAX_CHARS:
        raise ValidationError({"text": f"A reply can be up to {REPLY_MAX_CHARS} characters."})
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
