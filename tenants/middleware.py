"""Sets the tenant scope for requests of logged-in staff (the admin), and holds back
sessions that owe a second factor."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager, nullcontext

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from tenants.models import Membership
from tenants.scoping import scopes_disabled, tenant_scope
from tenants.selectors import membership_for_user
from tenants.two_factor import user_is_verified


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


class _SyncAndAsync:
    """A middleware that runs as the stack does (WSGI sync, Daphne async)."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponse | Awaitable[HttpResponse]:
        raise NotImplementedError


class TenantScopeMiddleware(_SyncAndAsync):
    """Superusers: scopes disabled. Members: their tenant's scope. Others: none.

    Webhooks, the widget socket and the API set their own scope from the
    channel account or key; this middleware only serves staff sessions.
    """

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


def _owes_second_factor(request: HttpRequest, user: object) -> bool:
    """A signed-in session without a verified second factor that its user now owes.

    Reads what the scope middleware loaded (the member's tenant): no query for sessions
    that owe nothing.
    """
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_staff", False):
        return False
    if user_is_verified(user):
        return False
    tenant = getattr(request, "tenant", None)
    if tenant is not None:
        return bool(tenant.two_factor_required)
    return bool(getattr(user, "is_superuser", False) and settings.OTP_REQUIRED_FOR_OPERATORS)


def _back_to_second_step(request: HttpRequest, user: object) -> HttpResponse:
    from tenants.signin import signin_pending_start

    backend = request.session.get(BACKEND_SESSION_KEY, "")
    next_url = request.get_full_path() if request.method in ("GET", "HEAD") else ""
    logout(request)
    return HttpResponseRedirect(
        signin_pending_start(request, user=user, backend=backend, next_url=next_url)
    )


class TwoFactorMiddleware(_SyncAndAsync):
    """Sends a session signed in without the second factor its user owes back to it.

    The two-step sign-in (``tenants.signin``) never signs such a session in; this catches
    the ones signed in before their tenant (or the platform, for operators) required it:
    the session is signed out and held at the code (or set-up) step, then resumes.
    """

    def __call__(self, request: HttpRequest) -> HttpResponse | Awaitable[HttpResponse]:
        if self.is_async:
            return self.__acall__(request)
        if _owes_second_factor(request, request.user):
            return _back_to_second_step(request, request.user)
        return self.get_response(request)

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        user = await request.auser()
        if await sync_to_async(_owes_second_factor)(request, user):
            return await sync_to_async(_back_to_second_step)(request, user)
        return await self.get_response(request)
