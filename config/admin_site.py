from __future__ import annotations

from typing import cast

from django.contrib import admin
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, URLResolver, path, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from desk.views import admin_index_context


class SalesAdminSite(admin.AdminSite):
    """Admin for platform operators (superusers) and tenant members.

    A staff user who is neither a superuser nor an active member of an active
    tenant is refused at the login page: without a tenant there is no scope,
    and every tenant-owned query would fail closed.

    Signing in takes two steps for staff who owe a second factor (``tenants.signin``):
    the login page is Django's with ``SignInView``, and the code, set-up and
    two-factor pages live under ``2fa/``.
    """

    site_header = "B2B Sales Agent"
    site_title = "B2B Sales Agent"
    index_title = _("Sales desk")

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        if not (user.is_active and user.is_staff):
            return False
        return bool(user.is_superuser or getattr(request, "tenant", None) is not None)

    def each_context(self, request: HttpRequest) -> dict:
        context = super().each_context(request)
        tenant = getattr(request, "tenant", None)
        if tenant is not None:
            context["site_header"] = f"{tenant.name} · {gettext('Sales desk')}"
        context["current_tenant"] = tenant
        return context

    def login(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        """``AdminSite.login`` with the two-step ``SignInView`` instead of ``LoginView``."""
        from django.contrib.admin.forms import AdminAuthenticationForm

        from tenants.signin import SignInView

        if request.method == "GET" and self.has_permission(request):
            return HttpResponseRedirect(reverse("admin:index", current_app=self.name))
        context = {
            **self.each_context(request),
            "title": gettext("Log in"),
            "subtitle": None,
            "app_path": request.get_full_path(),
            "username": request.user.get_username(),
        }
        if REDIRECT_FIELD_NAME not in request.GET and REDIRECT_FIELD_NAME not in request.POST:
            context[REDIRECT_FIELD_NAME] = reverse("admin:index", current_app=self.name)
        context.update(extra_context or {})
        request.current_app = self.name
        view = SignInView.as_view(
            extra_context=context,
            authentication_form=self.login_form or AdminAuthenticationForm,
            template_name=self.login_template or "admin/login.html",
        )
        return cast(HttpResponse, view(request))

    def get_urls(self) -> list[URLResolver | URLPattern]:
        from tenants.language import language_view
        from tenants.signin import two_factor_setup_view, two_factor_verify_view, two_factor_view

        site = {"site": self}
        return [
            path("language/", self.admin_view(language_view), site, name="language"),
            path("2fa/", two_factor_view, site, name="two_factor"),
            path("2fa/verify/", two_factor_verify_view, site, name="two_factor_verify"),
            path("2fa/setup/", two_factor_setup_view, site, name="two_factor_setup"),
            *super().get_urls(),
        ]

    def index(self, request: HttpRequest, extra_context: dict | None = None) -> TemplateResponse:
        context = {**admin_index_context(request), **(extra_context or {})}
        return super().index(request, extra_context=context)
