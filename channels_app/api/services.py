"""Writes of the CRM inbound API: upsert the contact by its CRM ids, store the message."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from channels_app.api.schemas import ContactIn, MessageIn
from channels_app.inbox import route_ensure
from channels_app.models import ChannelAccount
from crm.models import Contact, Message
from crm.services import company_ensure, contact_link_division, conversation_open, division_ensure
from tenants.models import Tenant


def api_external_id(account: ChannelAccount, external_id: str) -> str:
    return f"api:{account.pk}:{external_id}"


def contact_upsert(*, tenant: Tenant, channel: str, data: ContactIn) -> Contact:
    """The contact with this CRM id, else this platform identity, else this e-mail; else new."""
    lookups = [
        {"crm_contact_id": data.crm_contact_id} if data.crm_contact_id else None,
        {"platform": channel, "platform_user_id": data.platform_user_id}
        if data.platform_user_id
        else None,
        {"email__iexact": data.email} if data.email else None,
    ]
    contact = None
    for lookup in filter(None, lookups):
        contact = Contact.all_objects.filter(**lookup).order_by("pk").first()
        if contact is not None:
            break
    if (
        contact is not None
        and data.crm_contact_id
        and contact.crm_contact_id
        not in (
            None,
            data.crm_contact_id,
        )
    ):
        contact = None  # another CRM contact that shares the address: not this one
    if contact is None:
        contact = Contact(tenant=tenant, platform=channel)
    if contact.is_deleted:
        contact.is_deleted, contact.deleted_at = False, None
    for field, value in (
        ("crm_contact_id", data.crm_contact_id),
        ("full_name", data.full_name),
        ("email", data.email),
        ("phone_number", data.phone),
    ):
        if value:
            setattr(contact, field, value)
    if data.platform_user_id and not contact.platform_user_id and contact.platform == channel:
        contact.platform_user_id = data.platform_user_id
    contact.save()
    if data.company:
        company = company_ensure(
            tenant=tenant, name=data.company, crm_company_id=data.crm_company_id
        )
        division = division_ensure(
            tenant=tenant,
            company=company,
            name=data.division or "General",
            crm_division_id=data.crm_division_id,
        )
        if contact.division_id != division.pk:
            contact_link_division(contact=contact, division=division)
    return contact


def api_message_store(*, account: ChannelAccount, data: MessageIn) -> tuple[Message, bool]:
    """Store the CRM's message; ``(message, created)``. A repeated external_id is not stored."""
    tenant = account.tenant
    external_id = api_external_id(account, data.external_id)
    existing = Message.all_objects.filter(external_id=external_id).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            contact = contact_upsert(tenant=tenant, channel=data.channel, data=data.contact)
            conversation = conversation_open(tenant=tenant, contact=contact, channel=data.channel)
            route_ensure(
                conversation=conversation,
                account=account,
                address=data.contact.crm_contact_id or data.contact.platform_user_id or "",
            )
            message = Message.objects.create(
                tenant=tenant,
                conversation=conversation,
                role=Message.Role.USER,
                content=data.text,
                external_id=external_id,
                metadata=data.metadata,
                delivery_status=Message.Delivery.RECEIVED,
            )
            conversation.last_activity_at = message.created_at
            conversation.save(update_fields=["last_activity_at", "updated_at"])
    except IntegrityError:
        existing = Message.all_objects.filter(external_id=external_id).first()
        if existing is None:
            raise
        return existing, False
    return message, True


def reply_for(*, message: Message) -> Message | None:
    """The bot's reply that answered ``message`` (turns answer waiting messages together)."""
    return (
        Message.objects.filter(
            conversation_id=message.conversation_id,
            role=Message.Role.ASSISTANT,
            pk__gt=message.pk,
        )
        .order_by("pk")
        .first()
    )
