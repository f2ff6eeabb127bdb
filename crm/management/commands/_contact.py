"""What the GDPR commands share: the tenant's contact by id, and the operator as actor."""

from __future__ import annotations

from django.core.management.base import CommandError

from crm.audit import Actor
from crm.models import Contact
from tenants.models import Tenant

OPERATOR = Actor.system("Operator (manage.py)")


def contact_for(tenant: Tenant, contact_id: int) -> Contact:
    """The contact of ``tenant`` with this id; the caller holds the tenant's scope."""
    contact = Contact.all_objects.filter(pk=contact_id).first()
    if contact is None:
        raise CommandError(f"Tenant {tenant.slug} has no contact {contact_id}.")
    return contact
