"""``manage.py webhook_recover [--loop SECONDS]``: queue deliveries a dead worker left."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import CommandParser

from integrations.webhooks.tasks import RECOVER_AFTER, webhook_deliveries_recover
from tenants.management.base import JsonSummaryCommand


class Command(JsonSummaryCommand):
    help = (
        "Queue the webhook deliveries that are overdue (their worker died). With --loop, "
        "keep doing it every N seconds (run it beside the workers, like inbox_recover)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--loop", type=float, default=0, metavar="SECONDS")
        parser.add_argument("--older-than", type=float, default=RECOVER_AFTER, metavar="SECONDS")
        super().add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        while True:
            queued = webhook_deliveries_recover(older_than=options["older_than"])
            self.summarize(
                options, {"requeued": queued}, f"{queued} webhook delivery(ies) queued again."
            )
            if not options["loop"]:
                return
            time.sleep(options["loop"])
