from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.template.response import TemplateResponse

from desk.views import admin_index_context


class SalesAdminSite(admin.AdminSite):
    """Admin for platform operators (superusers) and tenant members.

    A staff user who is neither a superuser nor an active member of an active
    tenant is refused at the login page: without a tenant there is no scope,
    and every tenant-owned query would fail closed.
    """

    site_header = "B2B Sales Agent"
    site_title = "B2B Sales Agent"
    index_title = "Sales desk"

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        if not (user.is_active and user.is_staff):
            return False
        return bool(user.is_superuser or getattr(request, "tenant", None) is not None)

    def each_context(self, request: HttpRequest) -> dict:
        context = super().each_context(request)
        tenant = getattr(request, "tenant", None)
        if tenant is not None:
            context["site_header"] = f"{tenant.name} · Sales desk"
        context["current_tenant"] = tenant
        return context

    def index(self, request: HttpRequest, extra_context: dict | None = None) -> TemplateResponse:
        context = {**admin_index_context(request), **(extra_context or {})}
        return super().index(request, extra_context=context)
