"""Request bodies: read once, bounded and parsed strictly, before an operation runs.

A body larger than ``WEBHOOK_MAX_BYTES`` is 413; one that is not JSON, nests too deeply
or holds a number no column can (``1e999``, ``NaN``, a 5,000-digit integer) is 400
with the reason; a lone surrogate or NUL in a string is read as U+FFFD (the inbound
edges' rules, ``channels_app.text``). ninja's validation then answers 422 per field.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja.parser import Parser

from channels_app.text import JsonRefused, json_parse
from channels_app.webhooks import body_within_limit, too_large_reason
from integrations.api.problems import problem_response

_PARSED = "_api_json_body"


def body_refusal(request: HttpRequest) -> HttpResponse | None:
    """Read and parse the request's JSON body; a problem response when it is refused."""
    if request.method not in ("POST", "PUT", "PATCH"):
        return None
    raw = body_within_limit(request)
    if raw is None:
        return problem_response(413, too_large_reason())
    if not raw:
        return None
    try:
        setattr(request, _PARSED, json_parse(raw))
    except JsonRefused as exc:
        return problem_response(400, str(exc))
    return None


class JsonBodyParser(Parser):
    """The body :func:`body_refusal` parsed (ninja asks only for a non-empty body)."""

    def parse_body(self, request: HttpRequest) -> Any:
        if hasattr(request, _PARSED):
            return getattr(request, _PARSED)
        return json_parse(request.body)
