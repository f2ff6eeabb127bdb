"""Writes of the CRM inbound API: upsert the contact by its CRM ids, store the message;
and the reads that answer it (the turn's reply, the quote it carried)."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from channels_app.api.schemas import ContactIn, MessageIn
from channels_app.inbox import route_ensure
from channels_app.models import ChannelAccount
from crm.audit import Actor
from crm.models import Contact, Message, Platform
from crm.services import contact_upsert_from_crm, conversation_open, message_add
from quotes.models import Quote
from quotes.selectors import quotes_with_lines
from tenants.models import Tenant


def api_external_id(account: ChannelAccount, external_id: str) -> str:
    return f"api:{account.pk}:{external_id}"


def contact_upsert(*, account: ChannelAccount, channel: str, data: ContactIn) -> Contact:
    """The CRM's contact, matched and updated by the CRM's services (as this integration)."""
    return contact_upsert_from_crm(
        tenant=account.tenant,
        channel=channel,
        actor=integration_actor(account),
        crm_contact_id=data.crm_contact_id,
        platform_user_id=data.platform_user_id,
        full_name=data.full_name,
        email=data.email,
        phone=data.phone,
        company=data.company,
        crm_company_id=data.crm_company_id,
        division=data.division,
        crm_division_id=data.crm_division_id,
    )


def integration_actor(account: ChannelAccount) -> Actor:
    return Actor.integration(f"CRM API ({account.name})" if account.name else "CRM API")


def api_message_store(*, account: ChannelAccount, data: MessageIn) -> tuple[Message, bool]:
    """Store the CRM's message; ``(message, created)``. A repeated external_id is not stored.

    The conversation runs on the API whatever ``data.channel`` says: the reply goes
    back in the response, so a platform conversation's route to its bot is left alone.
    """
    external_id = api_external_id(account, data.external_id)
    for attempt in range(2):
        existing = Message.all_objects.filter(external_id=external_id).first()
        if existing is not None:
            return existing, False
        try:
            return _store(account=account, data=data, external_id=external_id), True
        except IntegrityError:
            # A concurrent request stored this message, or created the same contact,
            # company or division first: look again (once).
            if attempt:
                raise
    raise AssertionError("unreachable")


def _store(*, account: ChannelAccount, data: MessageIn, external_id: str) -> Message:
    tenant = account.tenant
    with transaction.atomic():
        contact = contact_upsert(account=account, channel=data.channel, data=data.contact)
        conversation = conversation_open(
            tenant=tenant, contact=contact, channel=Platform.API, actor=integration_actor(account)
        )
        route_ensure(
            conversation=conversation,
            account=account,
            address=contact.crm_contact_id or contact.platform_user_id or f"contact-{contact.pk}",
        )
        return message_add(
            conversation=conversation,
            role=Message.Role.USER,
            content=data.text,
            external_id=external_id,
            metadata=data.metadata,
        )


def reply_for(*, message: Message) -> Message | None:
    """The bot's reply that answered ``message``: the first one stored by the turn that took
    it (turns answer waiting messages together). None while no turn has taken it: a reply
    stored meanwhile belongs to a turn that started before ``message`` arrived."""
    handled_at = Message.objects.filter(pk=message.pk).values_list("handled_at", flat=True).first()
    if handled_at is None:
        return None
    return (
        Message.objects.filter(
            conversation_id=message.conversation_id,
            role=Message.Role.ASSISTANT,
            pk__gt=message.pk,
            created_at__gte=handled_at,
        )
        .order_by("pk")
        .first()
    )


def _quote_key(metadata: object) -> str | None:
    """The key of the quote a bot reply carries (``metadata["quote"]``, the document
    itself) or answers (``metadata["quote_answer"]``, an acceptance in the chat)."""
    if not isinstance(metadata, dict):
        return None
    for name in ("quote", "quote_answer"):
        value = metadata.get(name)
        if isinstance(value, dict) and value.get("key"):
            return str(value["key"])
    return None


def turn_quote(*, tenant: Tenant, reply: Message) -> Quote | None:
    """The quote the turn that stored ``reply`` sent (or answered), its lines loaded: the
    bot's replies from ``reply`` on, up to the next message that is not the bot's (a turn
    stores its text first, then the message carrying the quote). None when it sent none;
    a quote a rep sends later reaches the CRM as a ``quote.sent`` webhook."""
    replies = Message.objects.filter(
        conversation_id=reply.conversation_id, pk__gte=reply.pk
    ).order_by("pk")
    for role, metadata in replies.values_list("role", "metadata")[:20]:
        if role != Message.Role.ASSISTANT:
            return None
        key = _quote_key(metadata)
        if key:
            return quotes_with_lines(tenant=tenant).filter(public_key=key).first()
    return None
