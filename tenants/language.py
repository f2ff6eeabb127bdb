"""The desk's language: a member's own (``Membership.language``), else their tenant's
(``Tenant.default_language``).

``MemberLanguageMiddleware`` runs after ``TenantScopeMiddleware`` (which loads the member)
and activates that language for the request; requests without a member (the sign-in page,
operators) keep what Django's ``LocaleMiddleware`` chose: the language cookie, then
``Accept-Language``, then ``LANGUAGE_CODE``. The desk's socket activates the same language
with ``member_language`` (``desk/consumers.py``).

``language_view`` (``admin/language/``, linked from the admin's user tools) lets a member
choose theirs, or follow the tenant's; an operator's choice is kept in the language cookie.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from tenants.middleware import _SyncAndAsync
from tenants.models import Membership, Tenant
from tenants.services import membership_set_language

FOLLOW_TENANT = ""


def supported(code: str) -> str | None:
    """``code`` if the desk offers it (settings.LANGUAGES), else None."""
    offered = {language for language, _name in settings.LANGUAGES}
    return code if code in offered else None


def member_language(membership: Membership | None) -> str | None:
    """The language a member's desk speaks: their own, else their tenant's; None without a
    member (the request's own negotiation then stands)."""
    if membership is None:
        return None
    tenant: Tenant = membership.tenant
    return supported(membership.language) or supported(tenant.default_language)


def _activate(request: HttpRequest) -> None:
    language = member_language(getattr(request, "membership", None))
    if language is not None:
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()


class MemberLanguageMiddleware(_SyncAndAsync):
    """Activates the signed-in member's language (see the module's docstring)."""

    def __call__(self, request: HttpRequest) -> HttpResponse | Awaitable[HttpResponse]:
        if self.is_async:
            return self.__acall__(request)
        _activate(request)
        return self.get_response(request)

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        _activate(request)
        return await self.get_response(request)


class LanguageForm(forms.Form):
    language = forms.ChoiceField(label=_("Language"), required=False)

    def __init__(self, *args: Any, tenant: Tenant | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [(code, name) for code, name in settings.LANGUAGES]
        if tenant is not None:
            default = dict(settings.LANGUAGES).get(tenant.default_language, "")
            follow = _("The tenant's language (%(language)s)") % {"language": default}
            choices.insert(0, (FOLLOW_TENANT, follow))
        field = self.fields["language"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = choices


def _next_url(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("admin:index")


@require_http_methods(["GET", "POST"])
def language_view(request: HttpRequest, site: Any) -> HttpResponse:
    """The member's language choice: GET shows it, POST saves it and goes back to ``next``.

    Wrapped by ``admin_view`` (staff only). A member's choice is stored on their membership
    (``membership_set_language``); an operator, who has none, gets the language cookie.
    """
    membership: Membership | None = getattr(request, "membership", None)
    tenant = membership.tenant if membership is not None else None
    if request.method == "POST":
        form = LanguageForm(request.POST, tenant=tenant)
        if form.is_valid():
            code = form.cleaned_data["language"]
            response = HttpResponseRedirect(_next_url(request))
            if membership is not None:
                membership_set_language(membership=membership, language=code)
                code = member_language(membership) or settings.LANGUAGE_CODE
            elif code == FOLLOW_TENANT:
                response.delete_cookie(settings.LANGUAGE_COOKIE_NAME)
                code = settings.LANGUAGE_CODE
            else:
                response.set_cookie(
                    settings.LANGUAGE_COOKIE_NAME,
                    code,
                    max_age=settings.LANGUAGE_COOKIE_AGE,
                    secure=request.is_secure(),
                    httponly=True,
                    samesite="Lax",
                )
            with translation.override(code):
                messages.success(request, gettext("Your language was saved."))
            return response
        status = 400
    else:
        current = membership.language if membership is not None else request.LANGUAGE_CODE
        form = LanguageForm(initial={"language": current}, tenant=tenant)
        status = 200
    context = {
        **site.each_context(request),
        "title": _("Language"),
        "subtitle": None,
        "form": form,
        "next": _next_url(request),
    }
    return TemplateResponse(request, "admin/language.html", context, status=status)
