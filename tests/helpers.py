"""Helpers shared by the test tiers."""

from __future__ import annotations

from django.apps import apps

from tenants.models import TenantOwnedModel


def tenant_owned_models() -> list[type[TenantOwnedModel]]:
    """Every concrete tenant-owned model of the project, found by introspection."""
    return sorted(
        (m for m in apps.get_models() if issubclass(m, TenantOwnedModel)),
        key=lambda m: m._meta.label,
    )
