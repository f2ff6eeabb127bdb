"""The only module that enters or disables a tenant scope.

The scope lives in django-scopes' context variable, so it is right under ASGI
and follows ``sync_to_async``/``async_to_sync`` hops. Every tenant-owned model
uses :class:`TenantScopedManager`, which refuses to run a query when no tenant
scope is active instead of returning every tenant's rows.

Operator code that must see all tenants says so with :func:`scopes_disabled`,
which is easy to grep for. A ``None`` tenant is an error, never "all tenants".
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar, cast

from django.db import models
from django.utils import timezone
from django_scopes import ScopeError, get_scope, scope
from django_scopes import scopes_disabled as _scopes_disabled

if TYPE_CHECKING:
    from tenants.models import Tenant

__all__ = [
    "ScopeError",
    "TenantScopedManager",
    "active_tenant",
    "current_tenant",
    "scopes_are_disabled",
    "scopes_disabled",
    "tenant_scope",
]


@contextmanager
def tenant_scope(tenant: Tenant) -> Iterator[Tenant]:
    """Run the block with ``tenant`` as the only visible tenant."""
    from tenants.models import Tenant

    if not isinstance(tenant, Tenant) or tenant.pk is None:
        raise ScopeError(f"tenant_scope() needs a saved Tenant, got {tenant!r}")
    with scope(tenant=tenant):
        yield tenant


@contextmanager
def scopes_disabled() -> Iterator[None]:
    """Operator code only: every tenant's rows are visible inside the block."""
    with _scopes_disabled():
        yield


def scopes_are_disabled() -> bool:
    return not get_scope().get("_enabled", True)


def active_tenant() -> Tenant | None:
    """The tenant of the active scope, or None (no scope, or scopes disabled)."""
    state = get_scope()
    if not state.get("_enabled", True):
        return None
    return state.get("tenant")


def current_tenant() -> Tenant:
    """The tenant of the active scope; raises when there is none."""
    tenant = active_tenant()
    if tenant is None:
        raise ScopeError("No tenant scope is active.")
    return tenant


_M = TypeVar("_M", bound=models.Model)


class SoftDeleteQuerySet(models.QuerySet[_M]):
    """``delete()`` marks rows deleted; ``hard_delete()`` removes them."""

    def delete(self) -> tuple[int, dict[str, int]]:
        now = timezone.now()
        count = self.update(is_deleted=True, deleted_at=now, updated_at=now)
        return count, {self.model._meta.label: count}

    delete.queryset_only = True  # type: ignore[attr-defined]

    def hard_delete(self) -> tuple[int, dict[str, int]]:
        return super().delete()

    hard_delete.queryset_only = True  # type: ignore[attr-defined]

    def restore(self) -> int:
        return self.update(is_deleted=False, deleted_at=None, updated_at=timezone.now())


def _refuse(self: Any, *args: Any, **kwargs: Any) -> Any:
    raise ScopeError(
        f"Query on {self.model.__name__} with no tenant scope active. Enter "
        "tenants.scoping.tenant_scope(tenant), or scopes_disabled() in operator code."
    )


class ScopeMissingQuerySet(SoftDeleteQuerySet[_M]):
    """What a tenant-owned manager hands out when no scope is active.

    It can be built and chained (forms build querysets at import time) and can
    create rows, whose tenant is then given explicitly, but every path that
    reads, counts, tests for existence, updates or deletes raises. This is
    stricter than django-scopes' own DisabledQuerySet, whose ``exists()`` and
    ``exclude()`` chains still reach the database unscoped.
    """

    _fetch_all = _refuse
    _iterator = _refuse
    iterator = _refuse
    exists = _refuse
    count = _refuse
    aggregate = _refuse
    update = _refuse
    _update = _refuse
    delete = _refuse
    hard_delete = _refuse
    restore = _refuse
    _raw_delete = _refuse
    explain = _refuse
    raw = _refuse
    get = _refuse


# A module-level name, so that django-stubs' plugin types the generated manager's methods.
_SoftDeleteManager = models.Manager.from_queryset(SoftDeleteQuerySet)


class TenantScopedManager(_SoftDeleteManager[_M]):
    """Filters by the active tenant; with ``include_deleted`` it also shows soft-deleted rows."""

    def __init__(self, *, include_deleted: bool = False) -> None:
        super().__init__()
        self.include_deleted = include_deleted

    def deconstruct(
        self,
    ) -> tuple[bool, str | None, str | None, Sequence[Any] | None, dict[str, Any]]:
        as_manager, manager_path, qs_path, args, kwargs = super().deconstruct()
        kwargs = {"include_deleted": self.include_deleted} if self.include_deleted else {}
        return as_manager, manager_path, qs_path, args, kwargs

    def get_queryset(self) -> SoftDeleteQuerySet[_M]:
        state = get_scope()
        if state.get("_enabled", True) and state.get("tenant") is None:
            return ScopeMissingQuerySet(self.model, using=self._db)
        # The manager is built from SoftDeleteQuerySet, which django-stubs does not see here.
        queryset = cast(SoftDeleteQuerySet[_M], super().get_queryset())
        if state.get("_enabled", True):
            queryset = queryset.filter(tenant=state["tenant"])
        if not self.include_deleted:
            queryset = queryset.filter(is_deleted=False)
        return queryset
