"""Helpers shared by the test tiers."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.urls import reverse

from tenants.models import TenantOwnedModel


def tenant_owned_models() -> list[type[TenantOwnedModel]]:
    """Every concrete tenant-owned model of the project, found by introspection."""
    return sorted(
        (m for m in apps.get_models() if issubclass(m, TenantOwnedModel)),
        key=lambda m: m._meta.label,
    )


def password_login(client: Any, username: str, password: str) -> bool:
    """Sign in through the admin's login form, as a person does; True when signed in.

    ``client.login()`` cannot be used with passwords: the lockout backend (django-axes)
    counts attempts per request and refuses an authentication without one.
    """
    response = client.post(
        reverse("admin:login"), {"username": username, "password": password, "next": "/admin/"}
    )
    return response.status_code == 302 and "_auth_user_id" in client.session
