"""The API's one error format: RFC 9457 problem details (``application/problem+json``).

Every error of every endpoint is ``{"type", "title", "status", "detail"}``, plus
``errors: [{"field", "message"}]`` for a request that does not validate (422). The
exception handlers of :func:`problem_handlers_install` turn ninja's and Django's errors
into problems; an unexpected exception is logged and answered 500 with no traceback.
:func:`problem_urls` does the same for what happens before an operation runs (an
unknown path, a method the path does not take).
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.urls import URLPattern, URLResolver
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError
from pydantic import Field

logger = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"


class FieldError(Schema):
    field: str = Field(description="Where: a body field (``contact.email``) or a parameter.")
    message: str


class Problem(Schema):
    """RFC 9457 problem details."""

    type: str = Field(description='"about:blank": the status says what kind of error it is.')
    title: str
    status: int
    detail: str = Field(description="What went wrong with this request, for a person.")
    errors: list[FieldError] | None = Field(
        default=None, description="A request that does not validate (422): each field's error."
    )


class ApiProblem(HttpError):
    """Answer with a problem: ``raise ApiProblem(404, "no such contact")``."""

    def __init__(self, status: int, detail: str, errors: list[dict[str, str]] | None = None):
        super().__init__(status_code=status, message=detail)
        self.errors = errors


def problem_response(
    status: int, detail: str, *, errors: list[dict[str, str]] | None = None
) -> HttpResponse:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    return HttpResponse(json.dumps(body), status=status, content_type=PROBLEM_JSON)


def field_errors(errors: list[dict[str, Any]]) -> list[dict[str, str]]:
    """ninja's validation errors as ``[{"field", "message"}]``: a body field by its path
    inside the body (``contact.email``), a parameter by its name."""
    result = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ())]
        if loc[:1] == ["body"]:
            loc = loc[2:]  # ("body", <the operation's body parameter>, ...)
        elif loc:
            loc = loc[1:]  # ("query" | "path" | "header", name, ...)
        result.append({"field": ".".join(loc) or "body", "message": str(error.get("msg", ""))})
    return result


def problem_handlers_install(api: NinjaAPI) -> None:
    # ninja types a handler's exception as "the class or an instance": ours get instances.
    def on_validation(request: HttpRequest, exc: Any) -> HttpResponse:
        return problem_response(422, "invalid request", errors=field_errors(exc.errors))

    def on_authentication(request: HttpRequest, exc: Any) -> HttpResponse:
        return problem_response(
            401, "missing or invalid API key (Authorization: Bearer <key>, or X-API-Key)"
        )

    def on_throttled(request: HttpRequest, exc: Any) -> HttpResponse:
        return problem_response(429, "rate limit reached for this API key: retry after the wait")

    def on_http_error(request: HttpRequest, exc: Any) -> HttpResponse:
        return problem_response(
            exc.status_code, str(exc), errors=getattr(exc, "errors", None) or None
        )

    def on_not_found(request: HttpRequest, exc: Any) -> HttpResponse:
        return problem_response(404, "not found in this tenant")

    def on_denied(request: HttpRequest, exc: Any) -> HttpResponse:
        return problem_response(403, "this API key may not do that")

    def on_error(request: HttpRequest, exc: Any) -> HttpResponse:
        logger.exception("REST API: unexpected error on %s %s", request.method, request.path)
        return problem_response(500, "internal error: it was logged; try again later")

    api.add_exception_handler(ValidationError, on_validation)
    api.add_exception_handler(AuthenticationError, on_authentication)
    api.add_exception_handler(Throttled, on_throttled)
    api.add_exception_handler(HttpError, on_http_error)
    api.add_exception_handler(Http404, on_not_found)
    api.add_exception_handler(PermissionDenied, on_denied)
    api.add_exception_handler(Exception, on_error)


def _as_problem(response: HttpResponseBase) -> HttpResponseBase:
    """A 405 of ninja's path view (an empty text/html body) as a problem, ``Allow`` kept."""
    if response.status_code != 405 or response.get("Content-Type", "").startswith(PROBLEM_JSON):
        return response
    problem = problem_response(405, f"this path takes {response.get('Allow', '')}")
    problem["Allow"] = response.get("Allow", "")
    return problem


def _problem_view(view: Callable[..., Any]) -> Callable[..., Any]:
    if inspect.iscoroutinefunction(view):

        @functools.wraps(view)
        async def async_view(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            return _as_problem(await view(request, *args, **kwargs))

        return async_view

    @functools.wraps(view)
    def sync_view(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        return _as_problem(view(request, *args, **kwargs))

    return sync_view


def problem_urls(patterns: list[URLPattern | URLResolver]) -> list[URLPattern | URLResolver]:
    """The API's URL patterns with every 405 answered as a problem."""
    for pattern in patterns:
        if isinstance(pattern, URLPattern):
            pattern.callback = _problem_view(pattern.callback)
    return patterns


def api_not_found(request: HttpRequest, path: str = "") -> HttpResponse:
    """Any other path under the API's prefix."""
    return problem_response(404, f"no such endpoint: {request.path}")
