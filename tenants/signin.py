"""Staff sign-in: the lockout page (django-axes) and the two-step sign-in (django-otp).

``lockout_response`` is ``AXES_LOCKOUT_CALLABLE``: when a sign-in is refused because the
account (or the address it comes from) failed ``AXES_FAILURE_LIMIT`` times, the login
page says so, with how long the pause lasts and who can lift it, and answers 429.
``lockout_username`` is ``AXES_USERNAME_CALLABLE``: attempts count against the e-mail as
stored (trimmed, lower case), so ``Ana@X`` and ``ana@x`` share one count (MariaDB's
collation finds the same user for both).
"""

from __future__ import annotations

import math
import time
from typing import Any

from axes.helpers import get_cool_off
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth import login as auth_login
from django.contrib.auth.views import LoginView, redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django_otp import login as otp_login

from tenants.two_factor import (
    CodeThrottled,
    recovery_codes_generate,
    recovery_codes_left,
    totp_device_confirm,
    totp_device_start,
    totp_qr_svg,
    totp_secret,
    two_factor_enabled,
    two_factor_owed,
    two_factor_required,
    two_factor_verify,
    user_is_verified,
)

LOCKED_OUT_STATUS = 429


def lockout_username(request: HttpRequest, credentials: dict[str, Any] | None) -> str:
    data = credentials if credentials is not None else getattr(request, "POST", {})
    return str(data.get("username") or "").strip().lower()


def lockout_response(
    request: HttpRequest, original_response: Any = None, credentials: Any = None
) -> HttpResponse:
    cool_off = get_cool_off(request)
    minutes = math.ceil(cool_off.total_seconds() / 60) if cool_off else None
    context = {
        **admin.site.each_context(request),
        "title": gettext("Sign-in paused"),
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "minutes": minutes,
    }
    return render(request, "admin/signin/locked_out.html", context, status=LOCKED_OUT_STATUS)


# Two-step sign-in --------------------------------------------------------------------
#
# The password step never signs anyone in who owes a second factor: it keeps a pending
# entry in the session (the user, their backend, where to go next, when) and sends them to
# the code page, or to set up an authenticator app when their tenant requires one and they
# have none. Only a right code (or a finished set-up) calls ``login()``. So a session that
# knows only the password is anonymous everywhere: the admin, the desk's WebSocket, every
# view. A session signed in before its tenant required 2FA is sent back to the code step
# (``tenants.middleware.TwoFactorMiddleware``).

PENDING_KEY = "signin_pending"


def signin_pending_start(request: HttpRequest, *, user: Any, backend: str, next_url: str) -> str:
    """Hold ``user`` at the second step; returns the URL of that step."""
    request.session.cycle_key()  # a session fixed before the password learns nothing
    request.session[PENDING_KEY] = {
        "user": user.pk,
        "backend": backend,
        "next": next_url,
        "since": int(time.time()),
    }
    step = "verify" if two_factor_enabled(user=user) else "setup"
    return reverse(f"admin:two_factor_{step}")


def _pending_user(request: HttpRequest) -> Any:
    pending = request.session.get(PENDING_KEY)
    if not pending or time.time() - pending["since"] > settings.OTP_PENDING_SECONDS:
        return None
    return get_user_model().objects.filter(pk=pending["user"], is_active=True).first()


def _signin_complete(request: HttpRequest, user: Any, device: Any) -> str:
    """Sign ``user`` in, verified by ``device``; returns where to go next."""
    pending = request.session.pop(PENDING_KEY)
    auth_login(request, user, backend=pending["backend"])
    otp_login(request, device)
    return str(pending["next"] or reverse("admin:index"))


class SignInView(LoginView):
    """Django's login view, with the second step for staff who owe one."""

    def form_valid(self, form: Any) -> HttpResponse:
        user = form.get_user()
        if not two_factor_owed(user=user):
            return super().form_valid(form)
        return HttpResponseRedirect(
            signin_pending_start(
                self.request, user=user, backend=user.backend, next_url=self.get_redirect_url()
            )
        )


def _page(request: HttpRequest, site: Any, template: str, context: dict[str, Any]) -> HttpResponse:
    response = render(request, template, {**site.each_context(request), **context})
    add_never_cache_headers(response)
    return response


def _restart(request: HttpRequest) -> HttpResponse:
    messages.error(
        request, gettext("Your sign-in took too long or was interrupted: please sign in again.")
    )
    return redirect("admin:login")


@sensitive_post_parameters("code")
@csrf_protect
def two_factor_verify_view(request: HttpRequest, site: Any) -> HttpResponse:
    """Second step: a code from the authenticator app, or a recovery code (used up)."""
    user = _pending_user(request)
    if user is None:
        return _restart(request)
    if not two_factor_enabled(user=user):
        return redirect("admin:two_factor_setup")
    error = ""
    if request.method == "POST":
        try:
            device = two_factor_verify(user=user, code=request.POST.get("code", ""))
        except CodeThrottled:
            error = gettext("Too many wrong codes in a row: wait a few seconds, then try again.")
        else:
            if device is not None:
                return HttpResponseRedirect(_signin_complete(request, user, device))
            error = gettext("That code is not right, or it was used already.")
    return _page(
        request,
        site,
        "admin/signin/two_factor_verify.html",
        {"title": gettext("Two-factor sign-in"), "error": error, "pending_email": user.email},
    )


@sensitive_post_parameters("code")
@csrf_protect
def two_factor_setup_view(request: HttpRequest, site: Any) -> HttpResponse:
    """Set up an authenticator app: at sign-in when it is required, or later by choice.

    Someone who already has one must have signed in with it to replace it: a password
    alone never enrolls a new device.
    """
    pending = None
    user: Any
    if request.user.is_authenticated:
        user = request.user
        if not user.is_staff:
            return redirect("admin:login")
        if two_factor_enabled(user=user) and not user_is_verified(user):
            return redirect("admin:login")
    else:
        pending = user = _pending_user(request)
        if user is None:
            return _restart(request)
        if two_factor_enabled(user=user):
            return redirect("admin:two_factor_verify")
    device = totp_device_start(user=user)
    error = ""
    if request.method == "POST":
        codes = totp_device_confirm(device=device, code=request.POST.get("code", "").strip())
        if codes is not None:
            if pending is not None:
                next_url = _signin_complete(request, user, device)
            else:
                otp_login(request, device)
                next_url = reverse("admin:two_factor")
            return _page(
                request,
                site,
                "admin/signin/recovery_codes.html",
                {"title": gettext("Your recovery codes"), "codes": codes, "next_url": next_url},
            )
        error = gettext("That code is not right: check the app's clock and the newest code.")
    return _page(
        request,
        site,
        "admin/signin/two_factor_setup.html",
        {
            "title": gettext("Set up two-factor sign-in"),
            "error": error,
            "qr_svg": totp_qr_svg(device),
            "secret": totp_secret(device),
            "required": two_factor_required(user=user),
            "signing_in": pending is not None,
        },
    )


@csrf_protect
def two_factor_view(request: HttpRequest, site: Any) -> HttpResponse:
    """The signed-in user's two-factor page: state, new recovery codes, a new app."""
    if not site.has_permission(request):
        return redirect_to_login(request.get_full_path(), reverse("admin:login"))
    user: Any = request.user
    enabled = two_factor_enabled(user=user)
    if request.method == "POST" and enabled and user_is_verified(user):
        return _page(
            request,
            site,
            "admin/signin/recovery_codes.html",
            {
                "title": gettext("Your new recovery codes"),
                "codes": recovery_codes_generate(user=user),
                "next_url": reverse("admin:two_factor"),
            },
        )
    return _page(
        request,
        site,
        "admin/signin/two_factor.html",
        {
            "title": gettext("Two-factor sign-in"),
            "enabled": enabled,
            "required": two_factor_required(user=user),
            "codes_left": recovery_codes_left(user=user),
        },
    )
