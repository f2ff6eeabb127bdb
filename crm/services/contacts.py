"""Writes of companies, divisions and contacts.

Contacts come from three places: a platform identity (a Telegram user, a WhatsApp
number, a widget visitor: :func:`contact_get_or_create_for_platform`), the CRM's
inbound API (:func:`contact_upsert_from_crm`, matched by CRM id, platform identity or
e-mail, with its company and division) and the agent or a rep filling in what the
customer said (:func:`contact_update`). A change of a contact's fields is recorded in
the audit trail and published as ``contact.updated``; a new one as ``contact.created``.
"""

from __future__ import annotations

from typing import Any

from crm.audit import SYSTEM, Action, Actor, audit_record
from crm.events import EventType, event_publish
from crm.models import Company, CompanyDivision, Contact
from tenants.models import Tenant

DEFAULT_DIVISION = "General"  # the division of a contact whose company is known but not its team

CONTACT_FIELDS = ("full_name", "email", "phone_number", "crm_contact_id", "problem_statement")


def company_ensure(
    *, tenant: Tenant, name: str, fiscal_id: str | None = None, crm_company_id: str | None = None
) -> Company:
    """The tenant's company with this CRM id, else fiscal id, else name; created when missing."""
    lookups = [
        {"crm_company_id": crm_company_id} if crm_company_id else None,
        {"fiscal_id": fiscal_id} if fiscal_id else None,
        {"name__iexact": name.strip()},
    ]
    for lookup in filter(None, lookups):
        company = Company.objects.filter(**lookup).first()
        if company is not None:
            return company
    return Company.objects.create(
        tenant=tenant,
        name=name.strip(),
        fiscal_id=fiscal_id or None,
        crm_company_id=crm_company_id or None,
    )


def division_ensure(
    *, tenant: Tenant, company: Company, name: str, crm_division_id: str | None = None
) -> CompanyDivision:
    division = CompanyDivision.objects.filter(company=company, name__iexact=name.strip()).first()
    if division is None:
        division = CompanyDivision.objects.create(
            tenant=tenant,
            company=company,
            name=name.strip(),
            crm_division_id=crm_division_id or None,
        )
    return division


def _changed(contact: Contact, actor: Actor, changes: dict[str, list[Any]]) -> None:
    if not changes:
        return
    audit_record(
        tenant=contact.tenant,
        action=Action.CONTACT_UPDATED,
        actor=actor,
        contact=contact,
        changes=changes,
    )
    event_publish(
        EventType.CONTACT_UPDATED,
        tenant_id=contact.tenant_id,
        subject_id=contact.pk,
        actor=actor,
        changes=changes,
    )


def _created(contact: Contact, actor: Actor) -> None:
    event_publish(
        EventType.CONTACT_CREATED, tenant_id=contact.tenant_id, subject_id=contact.pk, actor=actor
    )


def _division_label(division_id: int | None) -> str:
    if division_id is None:
        return ""
    division = CompanyDivision.all_objects.select_related("company").filter(pk=division_id).first()
    return str(division) if division is not None else ""


def contact_link_division(
    *, contact: Contact, division: CompanyDivision, actor: Actor = SYSTEM
) -> Contact:
    """Place the contact in a division (and so in its company)."""
    if contact.division_id == division.pk:
        return contact
    before = _division_label(contact.division_id)
    contact.division = division
    contact.save(update_fields=["division", "updated_at"])
    _changed(contact, actor, {"division": [before, str(division)]})
    return contact


def contact_get_or_create_for_platform(
    *,
    tenant: Tenant,
    platform: str,
    platform_user_id: str,
    full_name: str = "",
    actor: Actor = SYSTEM,
) -> tuple[Contact, bool]:
    """The contact behind a platform identity; a soft-deleted one is restored, not duplicated."""
    contact = Contact.all_objects.filter(
        platform=platform, platform_user_id=platform_user_id
    ).first()
    if contact is not None:
        if contact.is_deleted:
            contact.restore()
        return contact, False
    contact = Contact.objects.create(
        tenant=tenant, platform=platform, platform_user_id=platform_user_id, full_name=full_name
    )
    _created(contact, actor)
    return contact, True


def contact_update(
    *,
    contact: Contact,
    actor: Actor,
    changes: dict[str, Any] | None = None,
    company_name: str = "",
    division_name: str = "",
) -> Contact:
    """Change the contact's own fields and, when given, its company and division (created
    when missing; a company without a division puts the contact in "General")."""
    before = {name: getattr(contact, name) for name in changes or {}}
    for name, value in (changes or {}).items():
        if name not in CONTACT_FIELDS:
            raise ValueError(f"Not a contact field: {name}")
        setattr(contact, name, value)
    changed = {name: [before[name], value] for name, value in (changes or {}).items()}
    changed = {name: pair for name, pair in changed.items() if pair[0] != pair[1]}
    if changed:
        contact.save(update_fields=[*changed, "updated_at"])
        _changed(contact, actor, changed)
    if company_name or division_name:
        company = (
            company_ensure(tenant=contact.tenant, name=company_name)
            if company_name
            else contact.company
        )
        if company is not None:
            division = division_ensure(
                tenant=contact.tenant, company=company, name=division_name or DEFAULT_DIVISION
            )
            contact_link_division(contact=contact, division=division, actor=actor)
    return contact


def contact_upsert_from_crm(
    *,
    tenant: Tenant,
    channel: str,
    actor: Actor,
    crm_contact_id: str | None = None,
    platform_user_id: str | None = None,
    full_name: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    company: str | None = None,
    crm_company_id: str | None = None,
    division: str | None = None,
    crm_division_id: str | None = None,
) -> Contact:
    """The contact with this CRM id, else this platform identity, else this e-mail; else new.

    The CRM's non-empty values overwrite ours; its company and division (by their CRM ids,
    else by name) are created or renamed to match.
    """
    lookups = [
        {"crm_contact_id": crm_contact_id} if crm_contact_id else None,
        {"platform": channel, "platform_user_id": platform_user_id} if platform_user_id else None,
        {"email__iexact": email} if email else None,
    ]
    contact = None
    for lookup in filter(None, lookups):
        contact = Contact.all_objects.filter(**lookup).order_by("pk").first()
        if contact is not None:
            break
    if (
        contact is not None
        and crm_contact_id
        and contact.crm_contact_id not in (None, crm_contact_id)
    ):
        contact = None  # another CRM contact that shares the address: not this one
    created = contact is None
    if contact is None:
        contact = Contact(tenant=tenant, platform=channel)
    if contact.is_deleted:
        contact.is_deleted, contact.deleted_at = False, None
    changes: dict[str, list[Any]] = {}
    for name, value in (
        ("crm_contact_id", crm_contact_id),
        ("full_name", full_name),
        ("email", email),
        ("phone_number", phone),
    ):
        if value and getattr(contact, name) != value:
            changes[name] = [getattr(contact, name), value]
            setattr(contact, name, value)
    if (
        platform_user_id
        and not contact.platform_user_id
        and contact.platform == channel
        and not Contact.all_objects.filter(platform=channel, platform_user_id=platform_user_id)
        .exclude(pk=contact.pk)
        .exists()  # the identity is another CRM contact's: it stays theirs
    ):
        changes["platform_user_id"] = [contact.platform_user_id, platform_user_id]
        contact.platform_user_id = platform_user_id
    if company:
        found = _crm_division(
            tenant=tenant,
            company=company,
            crm_company_id=crm_company_id,
            division=division,
            crm_division_id=crm_division_id,
        )
        if contact.division_id != found.pk:
            changes["division"] = [_division_label(contact.division_id), str(found)]
            contact.division = found
    contact.save()
    if created:
        _created(contact, actor)
    else:
        _changed(contact, actor, changes)
    return contact


def _crm_division(
    *,
    tenant: Tenant,
    company: str,
    crm_company_id: str | None,
    division: str | None,
    crm_division_id: str | None,
) -> CompanyDivision:
    """The contact's company and division by their CRM ids (a rename in the CRM renames
    them here), else by name; created when missing."""
    row = None
    if crm_company_id:
        row = Company.all_objects.filter(crm_company_id=crm_company_id).first()
    if row is None:
        row = company_ensure(tenant=tenant, name=company, crm_company_id=crm_company_id)
    _refresh(row, name=company, crm_field="crm_company_id", crm_id=crm_company_id)
    name = division or DEFAULT_DIVISION
    found = None
    if crm_division_id:
        found = CompanyDivision.all_objects.filter(crm_division_id=crm_division_id).first()
    if found is None:
        found = division_ensure(
            tenant=tenant, company=row, name=name, crm_division_id=crm_division_id
        )
    clash = (
        CompanyDivision.all_objects.filter(company=row, name__iexact=name)
        .exclude(pk=found.pk)
        .exists()
    )
    if found.company_id != row.pk and not clash:
        found.company = row
        found.save(update_fields=["company", "updated_at"])
    _refresh(
        found,
        name=None if clash else name,
        crm_field="crm_division_id",
        crm_id=crm_division_id,
    )
    return found


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


def contact_edit(*, contact: Contact, changed: list[str], actor: Actor, created: bool) -> Contact:
    """Save a contact edited in a form (the admin): ``changed`` names the fields the form
    changed, already set on ``contact``."""
    if created:
        contact.save()
        _created(contact, actor)
        return contact
    old = Contact.all_objects.get(pk=contact.pk)
    contact.save()
    _changed(contact, actor, field_changes(old, contact, changed))
    return contact


def field_changes(old: Any, new: Any, names: list[str]) -> dict[str, list[Any]]:
    """``{field: [before, after]}`` of the named fields that differ between two rows."""
    pairs = {name: [_plain(getattr(old, name)), _plain(getattr(new, name))] for name in names}
    return {name: pair for name, pair in pairs.items() if pair[0] != pair[1]}


def _plain(value: Any) -> Any:
    """A model field's value as JSON can hold it (a related row by its label)."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)
