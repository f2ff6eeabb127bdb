"""A web process killed between storing a message and answering it loses nothing: once
restarted the way production recovers (``inbox_recover``, then ``db_worker``), the
customer gets exactly one answer, however often recovery runs again.

Real processes on a file SQLite database: Daphne serving ``config.asgi``, the
operator commands, and a Bot API server on 127.0.0.1 (tests/fakes/telegram_server.py).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.fakes.telegram_server import FakeTelegram, text_update

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CHAT = 777000123
TOKEN = "424242:AAcrash-test-token"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Site:
    """The project run as separate processes on one database."""

    def __init__(self, tmp: Path, telegram: FakeTelegram) -> None:
        self.db = tmp / "db.sqlite3"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": f"sqlite:///{self.db}",
            "DEBUG": "1",
            "SECRET_KEY": "x",
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "CHROMA_DIR": str(tmp / "chroma"),
            "MEDIA_ROOT": str(tmp / "media"),
            "REDIS_URL": "",
            "LLM_API_KEY": "",  # no LLM: the catalog fallback answers
            "DEEPSEEK_API_KEY": "",
            "LLM_BASE_URL": "http://127.0.0.1:9/v1",
            "TELEGRAM_API_BASE": telegram.base_url,
            "CHANNEL_SEND_BACKOFF": "0.05",
            "TASKS_IN_PROCESS_WORKER": "0",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }

    def manage(self, *args: str) -> str:
        done = subprocess.run(  # noqa: S603 (our interpreter, fixed arguments)
            [str(BIN / "python"), "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, f"manage.py {' '.join(args)}:\n{done.stderr[-3000:]}"
        return done.stdout

    def manage_json(self, *args: str) -> dict:
        return json.loads(self.manage(*args, "--json").strip().splitlines()[-1])

    def web(self) -> tuple[subprocess.Popen[bytes], str]:
        port = _free_port()
        process = subprocess.Popen(  # noqa: S603 (our daphne, fixed arguments)
            [str(BIN / "daphne"), "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert process.poll() is None, "daphne exited at start"
            try:
                if httpx.get(f"{base}/healthz/", timeout=1).status_code == 200:
                    return process, base
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        process.kill()
        pytest.fail("daphne did not answer /healthz/")

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
    [(secret,)] = site.query(
        "SELECT webhook_secret FROM channels_app_channelaccount WHERE key = ?", account["key"]
    )

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
    assert site.query("SELECT content, handled_at FROM crm_message WHERE role = 'user'") == [
        ("Necesito un medidor de pH", None)
    ]

    # Restart: recovery re-queues the conversation (beside the task queued before the
    # crash), a worker answers. Two tasks for one conversation give one answer.
    assert site.manage_json("inbox_recover", "--older-than", "0")["requeued"] == 1
    site.manage("db_worker", "--batch", "--no-startup-delay")

    [sent] = telegram.calls("sendMessage", chat_id=CHAT)
    assert sent.token == TOKEN and sent.text
    rows = site.query("SELECT role, delivery_status FROM crm_message ORDER BY id")
    assert rows == [("user", "received"), ("assistant", "sent")]

    # Recovery and the worker run again (the next sweep, another restart): nothing resent.
    assert site.manage_json("inbox_recover", "--older-than", "0")["requeued"] == 0
    site.manage("db_worker", "--batch", "--no-startup-delay")
    assert len(telegram.calls("sendMessage", chat_id=CHAT)) == 1
