"""A web process killed between storing a message and answering it loses nothing: once
restarted the way production recovers (``inbox_recover``, then ``worker``), the
customer gets exactly one answer, however often recovery runs again.

Real processes on a file SQLite database: Daphne serving ``config.asgi``, the
operator commands, and a Bot API server on 127.0.0.1 (tests/fakes/telegram_server.py).
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.fakes.telegram_server import FakeTelegram, text_update
from tests.live import (
    app_environment,
    daphne_start,
    daphne_wait_healthy,
    free_port,
    run_manage,
    stored_secret,
)

CHAT = 777000123
TOKEN = "424242:AAcrash-test-token"


class Site:
    """The project run as separate processes on one database."""

    def __init__(self, tmp: Path, telegram: FakeTelegram) -> None:
        self.folder = tmp
        self.db = tmp / "db.sqlite3"
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        # No LLM key and nothing on the LLM port: the catalog fallback answers.
        self.env = app_environment(
            tmp,
            self.base,
            {
                "TELEGRAM_API_BASE": telegram.base_url,
                "CHANNEL_SEND_BACKOFF": "0.05",
                "TASKS_IN_PROCESS_WORKER": "0",
                "LOG_LEVEL": "WARNING",
            },
        )

    def manage(self, *args: str) -> str:
        return run_manage(self.env, *args)

    def manage_json(self, *args: str) -> dict:
        return json.loads(self.manage(*args, "--json").strip().splitlines()[-1])

    def web(self) -> tuple[subprocess.Popen[bytes], str]:
        log = self.folder / "daphne.log"
        with log.open("wb") as output:
            process = daphne_start(self.env, self.port, output)
        daphne_wait_healthy(self.base, process, log, timeout=60)
        return process, self.base

    def query(self, sql: str, *params: object) -> list[tuple]:
        with sqlite3.connect(self.db) as connection:
            return connection.execute(sql, params).fetchall()


@pytest.fixture
def telegram():
    server = FakeTelegram().start()
    yield server
    server.stop()


def test_a_message_stored_before_a_crash_is_answered_once_after_restart(tmp_path, telegram):
    site = Site(tmp_path, telegram)
    site.manage("migrate", "--noinput")
    site.manage_json("create_tenant", "crash", "--name", "Crash Labs")
    account = site.manage_json("add_channel", "crash", "telegram", "--bot-token", TOKEN)
    [(stored,)] = site.query(
        "SELECT webhook_secret FROM channels_app_channelaccount WHERE key = ?", account["key"]
    )
    secret = stored_secret(stored)  # encrypted at rest

    web, base = site.web()
    try:
        response = httpx.post(
            base + account["path"],
            json=text_update(CHAT, "Necesito un medidor de pH"),
            headers={"X-Telegram-Bot-Api-Secret-Token": secret},
            timeout=10,
        )
        assert response.status_code == 200 and response.json()["ok"] is True
    finally:
        web.send_signal(signal.SIGKILL)  # the crash: stored, not yet answered
        web.wait(timeout=10)

    assert telegram.calls("sendMessage") == []
    assert site.query("SELECT text, processed_at FROM channels_app_inboundevent") == [
        ("Necesito un medidor de pH", None)
    ]

    # Restart: recovery queues the chat's stored event again (beside the task queued
    # before the crash), a worker resolves and answers it. Two tasks for one chat give
    # one message and one answer.
    assert site.manage_json("inbox_recover", "--older-than", "0")["resolved"] == 1
    site.manage("worker", "--batch")

    [sent] = telegram.calls("sendMessage", chat_id=CHAT)
    assert sent.token == TOKEN and sent.text
    rows = site.query("SELECT role, delivery_status FROM crm_message ORDER BY id")
    assert rows == [("user", "received"), ("assistant", "sent")]

    # Recovery and the worker run again (the next sweep, another restart): nothing resent.
    again = site.manage_json("inbox_recover", "--older-than", "0")
    assert (again["resolved"], again["requeued"]) == (0, 0)
    site.manage("worker", "--batch")
    assert len(telegram.calls("sendMessage", chat_id=CHAT)) == 1
