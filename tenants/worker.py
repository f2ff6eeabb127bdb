"""A worker that runs many queued tasks at once in one process (``manage.py worker``).

The queue is django-tasks-db's table (Django's Tasks API stays the app's interface; see
``docs/adr/0001-task-engine.md``). django-tasks-db's own ``db_worker`` runs one task at a
time, and a conversation turn spends nearly all of its time waiting on the LLM, so one
process answered one customer per LLM latency. This worker keeps up to ``concurrency``
tasks in flight on one asyncio event loop:

* One dispatcher claims up to the number of free slots in one query
  (``SELECT … FOR UPDATE SKIP LOCKED``, the same claim ``db_worker`` makes, so workers on
  several machines share one MariaDB queue safely), then sleeps until a slot frees or
  ``interval`` passes.
* ``async def`` tasks (conversation turns, deliveries) are awaited on the loop: their LLM
  and HTTP waits overlap. Their ORM calls (asgiref's ``sync_to_async``) go to one of
  ``db_threads`` database threads ("lanes", each a single thread with its own kept
  connection; a task keeps its lane from start to end, and takes the least busy one), so
  one task's database round trips do not wait behind every other task's. Plain functions
  (catalog uploads) run on their own threads, so a long upload never stalls the turns.
* The embedding model and everything else a turn loads are loaded once per process.
* ``batch`` runs until nothing is ready, scheduled (a retry waiting for its time) or
  running, then returns: for tests and one-off catch-ups.
* SIGTERM or SIGINT stops claiming, lets what runs finish (up to ``grace`` seconds), exits.
  A task that a killed worker leaves half done is found again by the inbox's and the
  catalog's recovery sweeps, which look at the rows' own state, not at the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.db import OperationalError, close_old_connections, connection
from django_tasks import DEFAULT_TASK_BACKEND_ALIAS
from django_tasks.utils import get_random_id
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction

logger = logging.getLogger(__name__)


class Worker:
    """Claims tasks from the database queue and runs up to ``concurrency`` of them at once."""

    def __init__(
        self,
        *,
        concurrency: int,
        interval: float = 0.2,
        queue_names: Sequence[str] = ("*",),
        backend_name: str = DEFAULT_TASK_BACKEND_ALIAS,
        batch: bool = False,
        grace: float = 30.0,
        worker_id: str = "",
        db_threads: int = 1,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if db_threads < 1:
            raise ValueError("db_threads must be at least 1")
        self.concurrency = concurrency
        self.interval = interval
        self.queue_names = list(queue_names)
        self.backend_name = backend_name
        self.batch = batch
        self.grace = grace
        self.worker_id = worker_id or f"worker-{get_random_id()}"
        self.running: set[asyncio.Task[None]] = set()
        self._lanes = [
            ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"db-lane-{n}")
            for n in range(db_threads)
        ]
        self._lane_load = [0] * db_threads
        self.completed = 0
        self._stopping = False
        self._wake: asyncio.Event | None = None

    # Lifecycle ---------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop claiming; what runs finishes (thread-safe through the loop when called
        from a signal handler)."""
        self._stopping = True
        if self._wake is not None:
            self._wake.set()

    async def run(self) -> int:
        """Run until stopped (or, with ``batch``, until nothing is ready or running).
        Returns the number of tasks finished."""
        self._wake = asyncio.Event()
        loop = asyncio.get_running_loop()
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, self.stop)
        logger.info(
            "worker %s: up to %d tasks at once, queues %s",
            self.worker_id,
            self.concurrency,
            ",".join(self.queue_names),
        )
        idle_since_cleanup = True
        while not self._stopping:
            free = self.concurrency - len(self.running)
            claimed: list[DBTaskResult] = []
            if free > 0:
                if not self.running and not idle_since_cleanup:
                    # Nothing in flight: a good moment to drop connections the database
                    # may have closed meanwhile (CONN_MAX_AGE, MariaDB's wait_timeout).
                    await sync_to_async(close_old_connections)()
                    idle_since_cleanup = True
                claimed = await self._claim_safely(free)
            for db_result in claimed:
                idle_since_cleanup = False
                job = asyncio.create_task(self._execute(db_result), name=str(db_result.id))
                self.running.add(job)
                job.add_done_callback(self._finished)
            if self.batch and not claimed and not self.running and not await self._scheduled():
                break
            if claimed and len(claimed) == free:
                continue  # the queue may hold more; slots are full, the loop waits below
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
        await self._drain()
        for lane in self._lanes:
            lane.submit(close_old_connections)
            lane.shutdown(wait=True)
        logger.info("worker %s stopped after %d tasks", self.worker_id, self.completed)
        return self.completed

    def _finished(self, job: asyncio.Task[None]) -> None:
        self.running.discard(job)
        self.completed += 1
        if self._wake is not None:
            self._wake.set()

    async def _drain(self) -> None:
        if not self.running:
            return
        _, pending = await asyncio.wait(set(self.running), timeout=self.grace)
        for job in pending:
            job.cancel()
        if pending:
            logger.warning(
                "worker %s: %d task(s) still running after %.0f s were cancelled; "
                "recovery picks their work up again",
                self.worker_id,
                len(pending),
                self.grace,
            )

    # Claiming ----------------------------------------------------------------------------

    async def _claim_safely(self, most: int) -> list[DBTaskResult]:
        try:
            return await sync_to_async(self._claim)(most)
        except Exception:
            logger.exception("worker %s: claiming tasks failed; retrying", self.worker_id)
            await sync_to_async(close_old_connections)()
            return []

    def _queue(self) -> Any:
        """This worker's task rows: its backend, its queues."""
        tasks = DBTaskResult.objects.filter(backend_name=self.backend_name)
        if "*" not in self.queue_names:
            tasks = tasks.filter(queue_name__in=self.queue_names)
        return tasks

    def _claim(self, most: int) -> list[DBTaskResult]:
        tasks = self._queue().ready()
        if not tasks.exists():
            return []  # a plain read first: an idle worker never takes SQLite's write lock
        try:
            with exclusive_transaction(tasks.db):
                claimed = list(tasks.select_for_update(skip_locked=True)[:most])
                for db_result in claimed:
                    db_result.claim(self.worker_id)
        except OperationalError as exc:
            if "locked" in str(exc):  # SQLite: another process holds the write lock
                return []
            raise
        return claimed

    async def _in_lane(self, func: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
        lane = self._lane_load.index(min(self._lane_load))
        self._lane_load[lane] += 1
        try:
            async with ThreadSensitiveContext(executor=self._lanes[lane]):
                await sync_to_async(connection_refresh)()
                return await func(*args, **kwargs)
        finally:
            self._lane_load[lane] -= 1

    async def _scheduled(self) -> bool:
        """Whether a task waits for its time (a retry): ``batch`` waits for it too."""
        return await self._queue().filter(status="READY").aexists()

    # Running -----------------------------------------------------------------------------

    async def _execute(self, db_result: DBTaskResult) -> None:
        try:
            task = db_result.task
            args_kwargs: dict[str, Any] = db_result.args_kwargs
            args, kwargs = args_kwargs["args"], args_kwargs["kwargs"]
            if task.takes_context:
                raise TypeError(f"{task.name}: tasks taking a context are not supported")
            if asyncio.iscoroutinefunction(task.func):
                value = await self._in_lane(task.func, args, kwargs)
            else:
                value = await sync_to_async(_call_in_thread, thread_sensitive=False)(
                    task.func, args, kwargs
                )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.exception("task %s (%s) failed", db_result.task_path, db_result.id)
            await sync_to_async(db_result.set_failed)(exc)
            return
        await sync_to_async(db_result.set_successful)(value)


def connection_refresh() -> None:
    """Drop this thread's kept connection if the server closed it meanwhile (a worker's
    database lane, the webhooks' group-commit thread); the next query opens a new one."""
    if connection.connection is not None and not connection.is_usable():
        connection.close()


def _call_in_thread(func: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    """Run a plain task function on a pool thread with a fresh database connection."""
    close_old_connections()
    try:
        return func(*args, **kwargs)
    finally:
        close_old_connections()


def worker_run(**options: Any) -> int:
    """Run a :class:`Worker` on a new event loop until it stops; returns tasks finished."""
    return asyncio.run(Worker(**options).run())
