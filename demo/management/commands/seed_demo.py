"""``manage.py seed_demo``: the demo tenant for `make run` (see demo.seeding). Idempotent."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from demo.seeding import demo_seed
from tenants.management.base import JsonSummaryCommand
from tenants.public_urls import public_url


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
            f"Demo ready. Try the widget at {public_url('/demo/')}; sign in to the desk at "
            f"{public_url('/admin/')} as admin@demo.example or rep@demo.example with "
            f"password {password!r}.",
        )
