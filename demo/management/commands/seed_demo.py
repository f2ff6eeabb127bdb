"""``manage.py seed_demo``: the demo tenant for `make run` (see demo.seeding). Idempotent."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from demo.seeding import demo_seed
from tenants.management.base import JsonSummaryCommand


class Command(JsonSummaryCommand):
    help = "Seed a demo tenant (and a second one) for local runs. Idempotent."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--password",
            default="demo-pass-2026",
            help="Password of the demo members it creates (existing users keep theirs).",
        )
        super().add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        password = options["password"]
        summary = demo_seed(password=password)
        self.summarize(
            options,
            summary,
            f"Demo ready. Log in at http://127.0.0.1:8000/admin/ as admin@demo.example "
            f"or rep@demo.example with password {password!r}.",
        )
