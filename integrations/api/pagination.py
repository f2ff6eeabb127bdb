"""Cursor pagination over ``(updated_at, id)``, oldest change first, for incremental sync.

A list answers ``{"items", "next_cursor", "has_more"}``. The cursor is opaque to
clients (base64 of the last item's ``updated_at`` and id): pass it back as ``cursor`` for
the next page. The last page's ``next_cursor`` is where the next sync starts: rows
changed since come after it. ``updated_since`` (an ISO 8601 time) starts a list at the
rows changed at or after that time. Concurrent writers may commit a row whose
``updated_at`` is a moment earlier than one already read: a sync that must miss nothing
starts a few seconds before its last position (``updated_since``) and upserts by id.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from django.db.models import Model, Q, QuerySet
from pydantic import AfterValidator, Field

from integrations.api.problems import ApiProblem

DEFAULT_LIMIT = 50
MAX_LIMIT = 200

M = TypeVar("M", bound=Model)


def _utc(value: datetime) -> datetime:
    """A time in UTC (a naive one is taken as UTC); one that UTC cannot hold is refused."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("time out of range") from None


UtcDateTime = Annotated[datetime, AfterValidator(_utc)]
Limit = Annotated[int, Field(ge=1, le=MAX_LIMIT, description="Items per page.")]
Cursor = Annotated[
    str, Field(max_length=200, description="The ``next_cursor`` of the previous page.")
]
UpdatedSince = Annotated[
    UtcDateTime, Field(description="Only rows changed at or after this time (ISO 8601).")
]


def cursor_encode(updated_at: datetime, pk: int) -> str:
    raw = json.dumps([updated_at.astimezone(UTC).isoformat(), pk], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def cursor_decode(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        stamp, pk = json.loads(raw)
        if not isinstance(pk, int) or isinstance(pk, bool) or not 0 <= pk < 2**63:
            raise ValueError
        return _utc(datetime.fromisoformat(stamp)), pk
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise ApiProblem(
            422,
            "invalid cursor: pass the next_cursor of a previous page",
            errors=[{"field": "cursor", "message": "not a cursor this API gave"}],
        ) from None


def page(
    queryset: QuerySet[M],
    *,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
    updated_since: datetime | None = None,
) -> tuple[list[M], str | None, bool]:
    """``(rows, next_cursor, has_more)`` of one page of ``queryset``."""
    if updated_since is not None:
        queryset = queryset.filter(updated_at__gte=updated_since)
    if cursor:
        stamp, pk = cursor_decode(cursor)
        queryset = queryset.filter(Q(updated_at__gt=stamp) | Q(updated_at=stamp, pk__gt=pk))
    rows = list(queryset.order_by("updated_at", "pk")[: limit + 1])
    has_more = len(rows) > limit
    rows = rows[:limit]
    if rows:
        last: Any = rows[-1]
        next_cursor: str | None = cursor_encode(last.updated_at, last.pk)
    else:
        next_cursor = cursor or None
    return rows, next_cursor, has_more
