"""What every background task of a tenant shares (pretix's ``EventTask``, in two helpers).

* :func:`tenant_task` wraps a task function whose first argument is the tenant: the queue
  carries the tenant's id; the wrapper reloads the tenant, skips the task when the tenant is
  gone or inactive (returns None and logs it), and runs the function inside the tenant's
  scope. It works for ``async def`` functions (a concurrent worker awaits them on its event
  loop) and plain functions.
* :func:`enqueue_on_commit` queues a task once the current transaction commits, so a worker
  never picks up work whose rows it cannot see yet (and a rolled-back write queues nothing).
* :func:`enqueue_many_with_commit` writes the task rows in the current transaction when the
  queue is the database: one commit for the work and its tasks (the webhooks' fast path).

Use them together::

    @task()
    @tenant_task
    async def conversation_answer_task(tenant: Tenant, conversation_id: int) -> int: ...

    enqueue_on_commit(conversation_answer_task, tenant.pk, conversation.pk)
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.db import transaction

from tenants.models import Tenant
from tenants.scoping import tenant_scope

logger = logging.getLogger(__name__)


def tenant_for_task(tenant_id: int, task_name: str) -> Tenant | None:
    """The active tenant with this id, or None (logged) when it is gone or inactive."""
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None or not tenant.is_active:
        logger.info("task %s skipped: tenant %s is gone or inactive", task_name, tenant_id)
        return None
    return tenant


def tenant_task(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn ``func(tenant, *args)`` into a task function taking ``(tenant_id, *args)``."""
    name = func.__qualname__
    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def run_async(tenant_id: int, *args: Any, **kwargs: Any) -> Any:
            tenant = await sync_to_async(tenant_for_task)(tenant_id, name)
            if tenant is None:
                return None
            with tenant_scope(tenant):
                return await func(tenant, *args, **kwargs)

        return run_async

    @functools.wraps(func)
    def run(tenant_id: int, *args: Any, **kwargs: Any) -> Any:
        tenant = tenant_for_task(tenant_id, name)
        if tenant is None:
            return None
        with tenant_scope(tenant):
            return func(tenant, *args, **kwargs)

    return run


def enqueue_many_with_commit(task: Any, calls: list[tuple[Any, ...]]) -> None:
    """Queue many calls of one task so that they commit with the current transaction: with
    the database queue (django-tasks-db, the engine here) one INSERT of every task row in
    the open transaction (the rows its ``enqueue`` would write, built the same way;
    django-tasks-db is pinned), so the work and its tasks commit together or not at all.
    Any other backend falls back to one :func:`enqueue_on_commit` each."""
    from django_tasks.utils import normalize_json
    from django_tasks_db.backend import DatabaseBackend
    from django_tasks_db.models import DBTaskResult, get_date_max

    backend = task.get_backend()
    if not isinstance(backend, DatabaseBackend):
        for args in calls:
            enqueue_on_commit(task, *args)
        return
    backend.validate_task(task)
    DBTaskResult.objects.bulk_create(
        [
            DBTaskResult(
                id=backend._get_id(),
                args_kwargs=normalize_json({"args": list(args), "kwargs": {}}),
                priority=task.priority,
                task_path=task.module_path,
                queue_name=task.queue_name,
                run_after=task.run_after or get_date_max(),
                backend_name=backend.alias,
            )
            for args in calls
        ]
    )


def enqueue_on_commit(task: Any, *args: Any, **kwargs: Any) -> None:
    """``task.enqueue(*args, **kwargs)`` after the current transaction commits (at once
    when none is open). ``task`` is a Django Tasks task, possibly ``.using(run_after=…)``."""
    transaction.on_commit(lambda: task.enqueue(*args, **kwargs))
