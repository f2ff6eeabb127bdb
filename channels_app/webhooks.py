"""What the inbound HTTP edges (Telegram, WhatsApp, the CRM API) share: reading a bounded
body, one JSON error format, and turning pydantic's errors into field details for a 4xx.

Every inbound edge answers an error as ``{"ok": false, "error": "<reason>", ...}`` with
optional ``details`` (``[{"field": "a.b", "message": …}]``) and other keys of its own."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest


def error_body(message: str, **extra: Any) -> dict[str, Any]:
    """The one error format of the inbound edges."""
    return {"ok": False, "error": message, **extra}


def too_large_reason() -> str:
    return f"body larger than {settings.WEBHOOK_MAX_BYTES} bytes"


def body_within_limit(request: HttpRequest) -> bytes | None:
    """The raw body, or None when it is larger than ``WEBHOOK_MAX_BYTES``.

    The declared Content-Length is checked before reading (Django itself refuses bodies
    past ``DATA_UPLOAD_MAX_MEMORY_SIZE``, which is also "too large"), then what arrived.
    """
    limit = settings.WEBHOOK_MAX_BYTES
    try:
        declared = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return None
    try:
        body = request.body
    except RequestDataTooBig:
        return None
    return body if len(body) <= limit else None


def field_details(errors: list[Any], *, most: int | None = None) -> list[dict[str, str]]:
    """pydantic's errors as ``[{"field": "a.b", "message": …}]`` (the first ``most``)."""
    return [
        {"field": ".".join(str(p) for p in e["loc"]) or "body", "message": e["msg"]}
        for e in errors[:most]
    ]
