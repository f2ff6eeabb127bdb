"""``manage.py worker``: one worker process running many background tasks at once.

Runs in the foreground until SIGTERM or Ctrl-C (``make worker`` and the compose ``worker``
service run it). ``--concurrency`` (default: the ``WORKER_CONCURRENCY`` setting) bounds
the tasks in flight; ``--batch`` exits once nothing is ready or running (for tests and
one-off catch-ups). Add processes or machines to scale: they share the database queue.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from tenants.worker import worker_run


class Command(BaseCommand):
    help = "Run background tasks (conversation turns, deliveries, catalog uploads) concurrently."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--concurrency",
            type=int,
            default=None,
            help="Tasks in flight at once (default: WORKER_CONCURRENCY).",
        )
        parser.add_argument(
            "--interval",
            type=float,
            default=None,
            help="Seconds between polls of an empty queue (default: WORKER_POLL_INTERVAL).",
        )
        parser.add_argument(
            "--queue-name",
            action="append",
            dest="queue_names",
            default=None,
            help="A queue to take tasks from (repeatable; default: every queue).",
        )
        parser.add_argument(
            "--batch", action="store_true", help="Exit once nothing is ready or running."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        concurrency = options["concurrency"] or settings.WORKER_CONCURRENCY
        finished = worker_run(
            concurrency=concurrency,
            interval=options["interval"] or settings.WORKER_POLL_INTERVAL,
            queue_names=options["queue_names"] or ["*"],
            batch=options["batch"],
            db_threads=settings.WORKER_DB_THREADS,
        )
        if options["batch"]:
            self.stdout.write(f"{finished} task(s) run")
