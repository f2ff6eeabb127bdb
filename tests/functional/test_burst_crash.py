"""A worker killed in the middle of a burst loses nothing and doubles nothing: once its
successor is running and recovery has run as in production, every chat has exactly one
reply at Telegram.

Real processes (tests/burst.py): Daphne, two worker processes (``WORKER_COMMAND``), an
OpenAI-compatible server answering after 0.5 s and a Bot API server on 127.0.0.1. 40
private chats write at once. Once some replies went out and both workers have turns in
flight (tasks still queued behind them, LLM calls open), one worker is SIGKILLed; a
replacement starts at once, and ``inbox_recover --older-than 0`` runs after the dead
worker's leases (``INBOX_LEASE_SECONDS``, 3 s here) ran out, then every lease period while
chats are left, as ``inbox_recover --loop`` does beside the workers.

The product's rule for a reply whose send was in flight when its worker died: it is not
resent (it may have gone out) but marked failed and its conversation flagged for a rep. So
a chat has one reply, or none and then a failed reply and a flagged conversation; never two.

The database follows ``DATABASE_URL`` as the rest of the suite does: a file SQLite in the
test's folder by default; with a MySQL/MariaDB URL (CI's second pass) a throwaway
database on that server, created and dropped here (the URL's own database is not used by
the processes). No catalog is imported: retrieval plays no part in what is tested and the
embedding model would cost the test ~20 s.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.burst import (
    BurstApp,
    Database,
    answered,
    chat_states,
    chat_update,
    post_updates,
    replies_per_chat,
    slow_llm,
    task_counts,
)
from tests.fakes.openai_server import FakeLLM
from tests.fakes.telegram_server import FakeTelegram

CHATS = [733_000_000 + i for i in range(40)]
LLM_DELAY = 0.5  # seconds per LLM answer
LEASE = 3  # INBOX_LEASE_SECONDS
CONCURRENCY = 4  # turns at once per worker (the concurrent worker): the burst runs in waves
KILL_AFTER = len(CHATS) // 5  # replies that went out before the kill


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("mysql", "mariadb")):
        found = Database.mysql(url, f"burst_crash_{secrets.token_hex(4)}")
    else:
        found = Database.sqlite(tmp_path)
    found.create()
    yield found
    found.drop()


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    server = FakeTelegram().start()
    yield server
    server.stop()


@pytest.fixture
def llm() -> Iterator[FakeLLM]:
    server = slow_llm(LLM_DELAY).start()
    yield server
    server.stop()


def wait_for(condition: Callable[[], bool], *, timeout: float, what: str, app: BurstApp) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout:g} s\n{app.logs()}")
        time.sleep(0.05)


def llm_calls_open(llm: FakeLLM) -> int:
    """LLM calls the fake is still answering (arrived less than its delay ago)."""
    now = time.monotonic()
    return sum(1 for request in list(llm.requests) if now - request.at < LLM_DELAY - 0.05)


def test_killing_a_worker_mid_burst_leaves_every_chat_exactly_one_reply(
    tmp_path: Path, database: Database, telegram: FakeTelegram, llm: FakeLLM
) -> None:
    app = BurstApp(
        tmp_path,
        database,
        telegram_base=telegram.base_url,
        llm_base=llm.base_url,
        extra={
            "INBOX_LEASE_SECONDS": str(LEASE),
            "WORKER_CONCURRENCY": str(CONCURRENCY),
            "CHANNEL_SEND_BACKOFF": "0.05",
            "LOG_LEVEL": "INFO",
        },
    )
    account = app.set_up("crash", catalog=False)
    try:
        victim, _survivor = app.start_worker(), app.start_worker()  # starting beside Daphne
        app.start_web(timeout=60)
        posted = asyncio.run(
            post_updates(
                app.port, account, [(chat, chat_update(chat)) for chat in CHATS], connections=16
            )
        )
        assert all(record.stored for record in posted.values()), posted

        # Mid-burst: some replies out, tasks still queued (so every worker is busy) and
        # LLM calls open (turns in flight).
        def mid_burst() -> bool:
            return (
                answered(telegram, CHATS) >= KILL_AFTER
                and task_counts(database)["READY"] >= 2
                and llm_calls_open(llm) >= 2
            )

        wait_for(mid_burst, timeout=40, what="the burst reaching its middle", app=app)
        app.kill(victim)
        killed_at = time.monotonic()
        at_kill = answered(telegram, CHATS)
        assert 0 < at_kill < len(CHATS)
        app.start_worker()  # the supervisor's replacement

        # Production's recovery beside the workers: after the dead worker's leases ran out,
        # and again every lease period while chats are left.
        recoveries: list[dict[str, int]] = []

        def settled() -> bool:
            if time.monotonic() - killed_at > (len(recoveries) + 1) * (LEASE + 0.5):
                recoveries.append(app.manage_json("inbox_recover", "--older-than", "0"))
            if answered(telegram, CHATS) == len(CHATS):
                return True
            states = chat_states(database)
            return all(
                chat in states
                and not states[chat].waiting
                and states[chat].replies["pending"] == 0
                and states[chat].replies["sending"] == 0
                for chat in CHATS
            )

        wait_for(settled, timeout=45, what="every chat answered or flagged", app=app)
        time.sleep(1.5)  # a duplicate would arrive now
    finally:
        app.stop()

    replies = replies_per_chat(telegram, CHATS)
    states = chat_states(database)
    twice = {chat: len(times) for chat, times in replies.items() if len(times) > 1}
    assert not twice, f"chats answered more than once: {twice}\n{app.logs()}"
    for chat, times in replies.items():
        state = states[chat]
        assert state.waiting == 0, (chat, state)
        if times:
            continue
        # No reply: only a send caught in flight by the kill, marked failed and flagged.
        assert state.flagged and state.replies["failed"] >= 1, (chat, state, app.logs())
        assert state.replies["sent"] == 0, (chat, state)
    unanswered = [chat for chat, times in replies.items() if not times]
    assert len(unanswered) <= CONCURRENCY, unanswered  # at most the dead worker's sends
    # The kill caught work in flight: the dead worker's claimed tasks never finished (the
    # live workers finished theirs before they stopped).
    tasks = task_counts(database)
    assert tasks["RUNNING"] >= 1, tasks
    print(
        f"killed after {at_kill}/{len(CHATS)} replies; recoveries {recoveries}; "
        f"no reply (flagged, send in flight at the kill): {unanswered}; tasks {dict(tasks)}"
    )
