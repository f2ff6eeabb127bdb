"""Sets the tenant scope for requests of logged-in staff (the admin)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager, nullcontext

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.http import HttpRequest, HttpResponse

from tenants.models import Membership
from tenants.scoping import scopes_disabled, tenant_scope
from tenants.selectors import membership_for_user


def _scope_for(
    request: HttpRequest, user: object, membership: Membership | None
) -> AbstractContextManager:
    request.membership = membership  # type: ignore[attr-defined]
    request.tenant = membership.tenant if membership else None  # type: ignore[attr-defined]
    if membership is not None:
        return tenant_scope(membership.tenant)
    if getattr(user, "is_superuser", False) and getattr(user, "is_active", False):
        # Platform operators see every tenant (the admin offers a tenant filter).
        return scopes_disabled()
    # Anonymous visitors and staff without a tenant get no scope: any
    # tenant-owned query raises rather than leaking rows.
    return nullcontext()


class TenantScopeMiddleware:
    """Superusers: scopes disabled. Members: their tenant's scope. Others: none.

    Webhooks, the widget socket and the API set their own scope from the
    channel account or key; this middleware only serves staff sessions.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponse | Awaitable[HttpResponse]:
        if self.is_async:
            return self.__acall__(request)
        user = request.user
        membership = membership_for_user(user=user)
        with _scope_for(request, user, membership):
            return self.get_response(request)

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        user = await request.auser()
        membership = await sync_to_async(membership_for_user)(user=user)
        with _scope_for(request, user, membership):
            return await self.get_response(request)
