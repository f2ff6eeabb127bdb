"""Reads about tenants and members that other apps use."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet

from tenants.models import Membership, Tenant
from tenants.scoping import scopes_disabled

if TYPE_CHECKING:
    # The project's user model (AUTH_USER_MODEL is Django's); get_user_model() at run time.
    from django.contrib.auth.models import User


def membership_for_user(*, user: User | AnonymousUser) -> Membership | None:
    """The user's live membership in an active tenant, or None.

    Runs before any scope exists (it is how the scope is found), hence the
    explicit ``scopes_disabled``; it only ever reads the user's own row.
    """
    if not user.is_authenticated:
        return None
    with scopes_disabled():
        return (
            Membership.objects.select_related("tenant")
            .filter(user=user, tenant__is_active=True)
            .first()
        )


def tenant_members(*, tenant: Tenant) -> QuerySet[User]:
    """Active staff users who are members of ``tenant`` (the choices for an assigned rep)."""
    return (
        get_user_model()
        .objects.filter(
            is_active=True,
            memberships__tenant=tenant,
            memberships__is_deleted=False,
        )
        .distinct()
        .order_by("email")
    )


def tenant_get_by_slug(*, slug: str) -> Tenant | None:
    return Tenant.objects.filter(slug=slug).first()
