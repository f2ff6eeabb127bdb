"""Storing customer messages: contact, conversation, route and message, once per provider id.

The caller holds the tenant's scope. Nothing here enqueues work: the webhooks' events are
resolved by a worker (:mod:`channels_app.inbox.events`), which answers the conversation
itself; the widget answers in its own socket. If either dies first, recovery finds the
unhandled message (:mod:`channels_app.inbox.recovery`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction

from channels_app.live import conversation_notify_on_commit
from channels_app.models import ChannelAccount, ConversationRoute
from crm.models import Conversation, Message
from crm.services import (
    contact_get_or_create_for_platform,
    conversation_open,
    message_add,
    messages_mark_handled,
)


@dataclass
class Inbound:
    """A customer message as a channel received it."""

    address: str  # where replies go: Telegram chat id, WhatsApp wa_id, widget visitor id
    text: str
    external_id: str  # the provider's id, namespaced by channel ("tg:…", "wa:…")
    display_name: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    readable: bool = True  # False: a photo, a voice note…; ``text`` says what ("[photo]")
    language: str = ""  # the platform's hint of the customer's language (Telegram gives one)


def route_ensure(
    *, conversation: Conversation, account: ChannelAccount, address: str
) -> ConversationRoute:
    route = ConversationRoute.all_objects.filter(conversation=conversation).first()
    if route is None:
        return ConversationRoute.objects.create(
            tenant=conversation.tenant, conversation=conversation, account=account, address=address
        )
    if route.account_id != account.pk or route.address != address or route.is_deleted:
        route.account, route.address, route.is_deleted = account, address, False
        route.save(update_fields=["account", "address", "is_deleted", "updated_at"])
    return route


def inbound_store(*, account: ChannelAccount, inbound: Inbound) -> tuple[Message, bool]:
    """Store a customer message; ``(message, created)``.

    A message whose provider id is already stored is the provider retrying: the stored
    one is returned and nothing is written. The caller answers the conversation.
    """
    return _store(account=account, inbound=inbound)


def inbound_store_unsupported(
    *, account: ChannelAccount, inbound: Inbound, reply: str
) -> tuple[Message, bool]:
    """A message the bot cannot read (a photo, a voice note…): stored, marked handled, and
    ``reply`` stored for sending (unless a rep has the conversation) instead of a bot turn.

    ``inbound.text`` describes what arrived (e.g. "[photo]") for the transcript.
    """
    return _store(account=account, inbound=inbound, canned_reply=reply)


def _store(
    *, account: ChannelAccount, inbound: Inbound, canned_reply: str = ""
) -> tuple[Message, bool]:
    tenant = account.tenant
    existing = Message.all_objects.filter(tenant=tenant, external_id=inbound.external_id).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            contact, _ = contact_get_or_create_for_platform(
                tenant=tenant,
                platform=account.kind,
                platform_user_id=inbound.address,
                full_name=inbound.display_name[:200],
            )
            conversation = conversation_open(tenant=tenant, contact=contact, channel=account.kind)
            route_ensure(conversation=conversation, account=account, address=inbound.address)
            message = message_add(
                conversation=conversation,
                role=Message.Role.USER,
                content=inbound.text,
                external_id=inbound.external_id,
                metadata=inbound.metadata,
            )
            if canned_reply:
                messages_mark_handled(message_ids=[message.pk])
                if conversation.status == Conversation.Status.ACTIVE:
                    message_add(
                        conversation=conversation, role=Message.Role.ASSISTANT, content=canned_reply
                    )
    except IntegrityError:
        existing = Message.all_objects.filter(
            tenant=tenant, external_id=inbound.external_id
        ).first()
        if existing is None:
            raise
        return existing, False
    conversation_notify_on_commit(
        tenant_id=tenant.pk, conversation_id=conversation.pk, message_id=message.pk
    )
    return message, True
