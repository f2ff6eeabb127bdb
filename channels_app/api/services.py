"""Writes of the CRM inbound API: upsert the contact by its CRM ids, store the message."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from channels_app.api.schemas import ContactIn, MessageIn
from channels_app.inbox import route_ensure
from channels_app.models import ChannelAccount
from crm.models import Company, CompanyDivision, Contact, Message, Platform
from crm.services import (
    company_ensure,
    contact_link_division,
    conversation_open,
    division_ensure,
    message_add,
)
from tenants.models import Tenant

DEFAULT_DIVISION = "General"


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
        and contact.crm_contact_id not in (None, data.crm_contact_id)
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
    if (
        data.platform_user_id
        and not contact.platform_user_id
        and contact.platform == channel
        and not Contact.all_objects.filter(platform=channel, platform_user_id=data.platform_user_id)
        .exclude(pk=contact.pk)
        .exists()  # the identity is another CRM contact's: it stays theirs
    ):
        contact.platform_user_id = data.platform_user_id
    contact.save()
    if data.company:
        division = _division(tenant=tenant, data=data)
        if contact.division_id != division.pk:
            contact_link_division(contact=contact, division=division)
    return contact


def _division(*, tenant: Tenant, data: ContactIn) -> CompanyDivision:
    """The contact's company and division by their CRM ids (a rename in the CRM renames
    them here), else by name; created when missing."""
    assert data.company
    company = None
    if data.crm_company_id:
        company = Company.all_objects.filter(crm_company_id=data.crm_company_id).first()
    if company is None:
        company = company_ensure(
            tenant=tenant, name=data.company, crm_company_id=data.crm_company_id
        )
    _refresh(company, name=data.company, crm_field="crm_company_id", crm_id=data.crm_company_id)
    name = data.division or DEFAULT_DIVISION
    division = None
    if data.crm_division_id:
        division = CompanyDivision.all_objects.filter(crm_division_id=data.crm_division_id).first()
    if division is None:
        division = division_ensure(
            tenant=tenant, company=company, name=name, crm_division_id=data.crm_division_id
        )
    clash = (
        CompanyDivision.all_objects.filter(company=company, name__iexact=name)
        .exclude(pk=division.pk)
        .exists()
    )
    if division.company_id != company.pk and not clash:
        division.company = company
        division.save(update_fields=["company", "updated_at"])
    _refresh(
        division,
        name=None if clash else name,
        crm_field="crm_division_id",
        crm_id=data.crm_division_id,
    )
    return division


def _refresh(
    row: Company | CompanyDivision, *, name: str | None, crm_field: str, crm_id: str | None
) -> None:
    """Restore a soft-deleted row, take the CRM's name, and record the CRM id once."""
    fields = []
    if row.is_deleted:
        row.is_deleted, row.deleted_at = False, None
        fields += ["is_deleted", "deleted_at"]
    if name and getattr(row, crm_field) and getattr(row, crm_field) == crm_id and row.name != name:
        row.name = name
        fields.append("name")
    if crm_id and not getattr(row, crm_field):
        taken = type(row).all_objects.filter(**{crm_field: crm_id}).exclude(pk=row.pk).exists()
        if not taken:
            setattr(row, crm_field, crm_id)
            fields.append(crm_field)
    if fields:
        row.save(update_fields=[*fields, "updated_at"])


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
        contact = contact_upsert(tenant=tenant, channel=data.channel, data=data.contact)
        conversation = conversation_open(tenant=tenant, contact=contact, channel=Platform.API)
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
