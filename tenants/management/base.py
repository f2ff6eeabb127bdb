"""Base for operator commands: human output by default, a JSON summary with ``--json``."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class JsonSummaryCommand(BaseCommand):
    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print a JSON summary only.")

    def summarize(self, options: dict[str, Any], summary: dict[str, Any], text: str) -> None:
        if options["json"]:
            self.stdout.write(json.dumps(summary, ensure_ascii=False, sort_keys=True))
        else:
            self.stdout.write(self.style.SUCCESS(text))
