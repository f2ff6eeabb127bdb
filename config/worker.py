"""The task worker inside the web process, for local runs.

`make run` needs no extra process: with ``TASKS_IN_PROCESS_WORKER`` on (the
default when DEBUG is on) the ASGI app starts the same concurrent worker that
``manage.py worker`` runs, on a thread with its own event loop, plus the
recovery sweep. Production turns it off and runs ``manage.py worker``
processes, as many as needed.
"""

from __future__ import annotations

import logging
import threading

from django.conf import settings

logger = logging.getLogger(__name__)
_started = threading.Event()


def start_in_process_worker() -> bool:
    if not settings.TASKS_IN_PROCESS_WORKER or _started.is_set():
        return False
    _started.set()
    from tenants.worker import worker_run

    def work() -> None:
        try:
            worker_run(
                concurrency=settings.WORKER_CONCURRENCY,
                interval=settings.WORKER_POLL_INTERVAL,
                worker_id="inprocess",
                db_threads=settings.WORKER_DB_THREADS,
            )
        except Exception:
            logger.exception("the in-process task worker stopped")

    thread = threading.Thread(target=work, name="tasks-worker", daemon=True)
    thread.start()
    threading.Thread(target=_recover_forever, name="inbox-recovery", daemon=True).start()
    logger.info("Started the in-process task worker (TASKS_IN_PROCESS_WORKER=1).")
    return True


def _recover_forever() -> None:
    """Re-queue what a previous run left unanswered, then keep sweeping."""
    import time

    from django.db import close_old_connections

    from catalog.tasks import catalog_uploads_requeue
    from channels_app.tasks import inbox_recover
    from integrations.webhooks.tasks import webhook_deliveries_recover

    first = True
    while True:
        try:
            inbox_recover(older_than=0 if first else None)
            catalog_uploads_requeue()
            webhook_deliveries_recover()
        except Exception:
            logger.exception("inbox recovery failed")
        finally:
            close_old_connections()
        first = False
        time.sleep(settings.INBOX_RECOVER_EVERY)
