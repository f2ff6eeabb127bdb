"""One owner per write, checked while the whole test suite runs.

Every INSERT, UPDATE or DELETE on a table of ``crm`` (or ``quotes``) is traced back to
the first frame of our own code that caused it (past the tenant base classes). It must be
in the owning app (``crm/`` or ``quotes/``: their services, admin and migrations), the
``demo`` app, a migration, or a test; a write made from ``agent``, ``channels_app``,
``desk``, ``catalog``, ``tenants`` or ``config`` fails the test that caused it. This
uses Django's public execute wrappers (installed on every database connection, whatever
its thread), so it sees saves, queryset updates, bulk inserts and deletes alike.
"""

from __future__ import annotations

import re
import sys
import threading
from pathlib import Path
from typing import Any

from django.apps import apps

ROOT = Path(__file__).resolve().parent.parent
# The abstract bases' save/delete/restore and the soft-delete queryset write for the
# model's owner; the owner is whoever called them.
PASS_THROUGH = {"tenants/models.py", "tenants/scoping.py"}
ALLOWED = ("demo/", "tests/", "benchmarks/")
OWNED_APPS = ("crm", "quotes")
WRITE = re.compile(r"^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+[`\"]?(\w+)", re.IGNORECASE)

_lock = threading.Lock()
violations: list[str] = []


def owned_tables() -> dict[str, str]:
    """Each owned table, with the folder of the app that owns it."""
    return {
        model._meta.db_table: f"{label}/"
        for label in OWNED_APPS
        for model in apps.get_app_config(label).get_models()
    }


def writer() -> tuple[str, int, str] | None:
    """The first frame of our code (not the venv, not the pass-through bases) on the stack."""
    frame: Any = sys._getframe(2)
    while frame is not None:
        path = Path(frame.f_code.co_filename)
        try:
            relative = path.resolve().relative_to(ROOT).as_posix()
        except ValueError:
            relative = None
        if relative and not relative.startswith(".venv/") and relative not in PASS_THROUGH:
            return relative, frame.f_lineno, frame.f_code.co_name
        frame = frame.f_back
    return None


def allowed(relative: str, owner: str) -> bool:
    return relative.startswith((owner, *ALLOWED)) or "/migrations/" in relative


class OwnerCheck:
    """An execute wrapper recording writes on crm tables made outside their owner."""

    def __init__(self) -> None:
        self.tables = owned_tables()

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        match = WRITE.match(sql)
        if match and match.group(1) in self.tables:
            where = writer()
            if where is not None and not allowed(where[0], self.tables[match.group(1)]):
                path, line, function = where
                with _lock:
                    violations.append(f"{path}:{line} ({function}) writes {match.group(1)}")
        return execute(sql, params, many, context)


def install(connection: Any, check: OwnerCheck) -> None:
    if check not in connection.execute_wrappers:
        connection.execute_wrappers.append(check)
