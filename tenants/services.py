"""Writes about tenants and members. Callers hold the tenant's scope (or are operator code)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.validators import validate_email, validate_slug
from django.db import transaction

from tenants.models import Membership, Tenant
from tenants.roles import ROLE_GROUPS
from tenants.scoping import scopes_disabled, tenant_scope

if TYPE_CHECKING:
    # The project's user model (AUTH_USER_MODEL is Django's); get_user_model() at run time.
    from django.contrib.auth.models import User


class MemberError(ValueError):
    """A member cannot be created or changed as asked; the message says why."""


@dataclass
class EnsureResult:
    created: bool
    changed: list[str] = field(default_factory=list)


def tenant_ensure(*, slug: str, name: str) -> tuple[Tenant, EnsureResult]:
    """Create the tenant, or bring its name up to date. Idempotent."""
    validate_slug(slug)
    if not name.strip():
        raise ValidationError("A tenant needs a name.")
    tenant, created = Tenant.objects.get_or_create(slug=slug, defaults={"name": name.strip()})
    result = EnsureResult(created=created)
    if not created and tenant.name != name.strip():
        tenant.name = name.strip()
        tenant.save(update_fields=["name", "updated_at"])
        result.changed.append("name")
    return tenant, result


def tenant_update(*, tenant: Tenant, previous_logo: str = "") -> Tenant:
    """Save the tenant's settings. A replaced or cleared logo's file is deleted after commit."""
    tenant.save()
    if previous_logo and previous_logo != tenant.logo.name:
        storage = tenant.logo.storage
        transaction.on_commit(lambda: storage.delete(previous_logo))
    return tenant


def membership_set_role(*, membership: Membership, role: str) -> bool:
    """Set the member's role and the matching permission group. Returns True when it changed."""
    if role not in ROLE_GROUPS:
        raise MemberError(f"Unknown role {role!r}: use one of {', '.join(ROLE_GROUPS)}.")
    changed = membership.role != role
    if changed:
        membership.role = role
        membership.save(update_fields=["role", "updated_at"])
    user = membership.user
    wanted = Group.objects.get(name=ROLE_GROUPS[role])
    others = Group.objects.filter(name__in=[g for r, g in ROLE_GROUPS.items() if r != role])
    user.groups.remove(*others)
    user.groups.add(wanted)
    return changed


def _user_by_email(email: str) -> User | None:
    return get_user_model().objects.filter(username__iexact=email.strip().lower()).first()


def member_refusal(*, tenant: Tenant, email: str, password: str | None) -> str | None:
    """Why ``member_ensure`` would refuse this member, or None when it would not."""
    user = _user_by_email(email)
    if user is None:
        return None if password else "A new member needs a password."
    if user.is_superuser:
        return f"{email} is a platform operator and cannot be a tenant member."
    with scopes_disabled():
        elsewhere = Membership.all_objects.filter(user=user).exclude(tenant=tenant).exists()
    if elsewhere:
        return f"{email} already belongs to another tenant."
    return None


@transaction.atomic
def member_ensure(
    *,
    tenant: Tenant,
    email: str,
    role: str,
    password: str | None = None,
    full_name: str = "",
) -> tuple[Membership, EnsureResult]:
    """Create or update a staff user who is a member of ``tenant``. Idempotent.

    The user logs in with their email. A user who belongs to another tenant is
    refused: a staff user belongs to exactly one tenant.
    """
    email = email.strip().lower()
    try:
        validate_email(email)
    except ValidationError as exc:
        raise MemberError(f"{email!r} is not a valid email address.") from exc
    if role not in ROLE_GROUPS:
        raise MemberError(f"Unknown role {role!r}: use one of {', '.join(ROLE_GROUPS)}.")

    user = _user_by_email(email)
    refusal = member_refusal(tenant=tenant, email=email, password=password)
    if refusal:
        raise MemberError(refusal)
    result = EnsureResult(created=user is None)
    if user is None:
        assert password  # member_refusal() requires one for a new user
        user = get_user_model()(username=email, email=email, is_staff=True, is_active=True)
        user.set_password(password)
        if full_name:
            user.first_name, _, user.last_name = full_name.partition(" ")
        user.save()
    else:
        updates = []
        if not user.is_staff or not user.is_active:
            user.is_staff = user.is_active = True
            updates += ["is_staff", "is_active"]
        if password and not user.check_password(password):
            user.set_password(password)
            updates.append("password")
        if updates:
            user.save(update_fields=updates)
            result.changed += updates

    with tenant_scope(tenant):
        membership = Membership.all_objects.filter(user=user).first()
        if membership is None:
            membership = Membership.objects.create(tenant=tenant, user=user, role=role)
            if not result.created:
                result.changed.append("membership")
        elif membership.is_deleted:
            membership.restore()
            result.changed.append("membership")
        if membership_set_role(membership=membership, role=role):
            result.changed.append("role")
    return membership, result
