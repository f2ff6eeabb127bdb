"""Staff sign-in: the page shown when django-axes has locked an account or an address.

``lockout_response`` is ``AXES_LOCKOUT_CALLABLE``: when a sign-in is refused because the
account (or the address it comes from) failed ``AXES_FAILURE_LIMIT`` times, the login
page says so, with how long the pause lasts and who can lift it, and answers 429.
``lockout_username`` is ``AXES_USERNAME_CALLABLE``: attempts count against the e-mail as
stored (trimmed, lower case), so ``Ana@X`` and ``ana@x`` share one count (MariaDB's
collation finds the same user for both).
"""

from __future__ import annotations

import math
from typing import Any

from axes.helpers import get_cool_off
from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

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
        "title": "Sign-in paused",
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "minutes": minutes,
    }
    return render(request, "admin/signin/locked_out.html", context, status=LOCKED_OUT_STATUS)
