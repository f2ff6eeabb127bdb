from __future__ import annotations

import time
from typing import Any

from django.core.management.base import CommandParser

from catalog.tasks import catalog_uploads_requeue
from channels_app.tasks import inbox_recover
from tenants.management.base import JsonSummaryCommand


class Command(JsonSummaryCommand):
    help = (
        "Re-queue what a crash left behind: conversations with unanswered messages or unsent "
        "replies, and catalog uploads whose worker died. "
        "With --loop, keep doing it every N seconds (run it beside the workers)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--loop", type=float, default=0, metavar="SECONDS")
        parser.add_argument(
            "--older-than",
            type=float,
            default=None,
            metavar="SECONDS",
            help="Only messages older than this (default INBOX_RECOVER_AFTER).",
        )
        super().add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        while True:
            summary = inbox_recover(older_than=options["older_than"])
            summary["uploads_requeued"] = catalog_uploads_requeue()
            self.summarize(
                options,
                summary,
                f"{summary['resolved']} chat(s) with unresolved webhook events queued, "
                f"{summary['requeued']} conversation(s) re-queued, "
                f"{summary['stuck_sends_failed']} uncertain send(s) flagged, "
                f"{summary['uploads_requeued']} catalog upload(s) re-queued.",
            )
            if not options["loop"]:
                return
            time.sleep(options["loop"])
