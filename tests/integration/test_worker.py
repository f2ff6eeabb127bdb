"""``manage.py worker`` on a real database queue: tasks overlap up to the concurrency and
never beyond it, plain functions run beside async ones, a failure is recorded and does not
stop the worker, and ``--batch`` waits for a retry scheduled a moment later.

The tasks below meet at a barrier: a group of ``concurrency`` tasks can only finish when
all of them run at once, so the test proves overlap without timing anything.
"""

from __future__ import annotations

import asyncio
import io
import threading
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks import task
from django_tasks_db.models import DBTaskResult

from tenants.worker import Worker

pytestmark = pytest.mark.django_db(transaction=True)

_state = {"running": 0, "most": 0}
_barrier_size = {"n": 1}


@task()
async def meet_task(number: int) -> int:
    """Wait until ``_barrier_size`` tasks run at once (or 20 s), recording the overlap."""
    _state["running"] += 1
    _state["most"] = max(_state["most"], _state["running"])
    try:
        for _ in range(2000):
            if _state["running"] >= _barrier_size["n"]:
                break
            await asyncio.sleep(0.01)
        return number
    finally:
        await asyncio.sleep(0.05)  # stay in flight a moment: the next group must not overlap
        _state["running"] -= 1


@task()
def plain_task(label: str) -> str:
    return f"{label} on {threading.current_thread().name != 'MainThread'}"


@task()
async def failing_task() -> None:
    raise ValueError("this task fails on purpose")


@pytest.fixture(autouse=True)
def _reset():
    _state.update(running=0, most=0)


def run(concurrency: int) -> int:
    return asyncio.run(Worker(concurrency=concurrency, interval=0.05, batch=True).run())


def test_tasks_overlap_up_to_the_concurrency_and_never_beyond(settings):
    _barrier_size["n"] = 3
    for number in range(6):
        meet_task.enqueue(number)

    assert run(concurrency=3) == 6

    assert _state["most"] == 3  # three at once (the barrier needed it), never four
    results = DBTaskResult.objects.all()
    assert sorted(r.return_value for r in results) == list(range(6))
    assert {r.status for r in results} == {"SUCCESSFUL"}


def test_plain_functions_run_on_threads_and_a_failure_is_recorded():
    plain_task.enqueue("upload")
    failing_task.enqueue()
    _barrier_size["n"] = 1
    meet_task.enqueue(7)

    assert run(concurrency=4) == 3

    by_path = {r.task_path.rsplit(".", 1)[1]: r for r in DBTaskResult.objects.all()}
    assert by_path["plain_task"].return_value == "upload on True"
    assert by_path["failing_task"].status == "FAILED"
    assert "this task fails on purpose" in by_path["failing_task"].traceback
    assert by_path["meet_task"].status == "SUCCESSFUL"  # the failure stopped nothing


def test_batch_waits_for_a_retry_scheduled_a_moment_later():
    _barrier_size["n"] = 1
    meet_task.using(run_after=timezone.now() + timedelta(seconds=0.5)).enqueue(1)

    out = io.StringIO()
    call_command("worker", "--batch", "--interval", "0.05", stdout=out)

    assert out.getvalue().strip() == "1 task(s) run"
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"


def test_concurrency_must_be_positive():
    with pytest.raises(ValueError, match="at least 1"):
        Worker(concurrency=0)
