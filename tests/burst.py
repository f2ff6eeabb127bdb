"""Many Telegram chats writing at once to the app as real processes: what the burst
benchmark (benchmarks/burst_bench.py) and the kill-a-worker test
(tests/functional/test_burst_crash.py) share.

* :class:`Database`: where the app's processes keep their data, a file SQLite in the run's
  folder or a throwaway database on a MariaDB server (created and dropped here; the
  database a URL names is never touched), read back with plain SQL.
* :class:`BurstApp`: the app configured like production (``DEBUG=0``, no in-process
  worker, an LLM key and ``LLM_BASE_URL`` at a local OpenAI-compatible server,
  ``TELEGRAM_API_BASE`` at a local Bot API), set up with the operator commands, served by
  Daphne, answered by ``WORKER_COMMAND`` processes that can be stopped or killed.
* :func:`slow_llm`: the OpenAI-compatible fake answering every call with a short text
  after a fixed delay.
* :func:`post_updates`: official-shape Updates, one per private chat, posted at once over
  keep-alive connections by a small asyncio HTTP/1.1 client.
* :func:`replies_per_chat`, :func:`memory`: what the fake Bot API recorded, and a
  process's resident memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import secrets
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from tests.fakes.openai_server import Action, FakeLLM
from tests.fakes.telegram_server import FakeTelegram, private_message, update
from tests.live import (
    BIN,
    ROOT,
    app_environment,
    daphne_start,
    daphne_stop,
    daphne_wait_healthy,
    free_port,
    run_manage,
    stored_secret,
)

# The worker process that answers conversations: ``manage.py <WORKER_COMMAND>``.
WORKER_COMMAND: tuple[str, ...] = ("worker",)
CATALOG = ROOT / "demo" / "demo_catalog.csv"
TOKEN = "626262:AAburst-bench-token"
BOT_ID = TOKEN.split(":", 1)[0]
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
REPLY = "Tenemos el turbidímetro portátil TB-300. ¿Para qué rango de medida lo necesita?"
TEXTS = (
    "Hola, necesito medir turbidez en agua potable",
    "Busco un medidor de pH de mesa para laboratorio",
    "¿Tienen sondas de oxígeno disuelto?",
    "Necesito reactivo DPD para cloro libre",
    "I need a portable turbidity meter",
)


def slow_llm(delay: float) -> FakeLLM:
    """An OpenAI-compatible server answering every call with :data:`REPLY` after ``delay`` s
    (each request on its own thread: calls overlap)."""
    return FakeLLM(default=lambda body: Action("text", content=REPLY, delay=delay))


# The database -----------------------------------------------------------------------------


class Database:
    """A file SQLite, or a throwaway database on the MariaDB server of ``server_url``."""

    def __init__(self, url: str) -> None:
        self.url = url
        parts = urlsplit(url)
        self.is_mysql = parts.scheme in {"mysql", "mysql2", "mariadb"}
        self.name = parts.path.lstrip("/")
        self._connect: dict[str, Any] = {
            "host": parts.hostname or "127.0.0.1",
            "port": parts.port or 3306,
            "user": unquote(parts.username or "root"),
            "password": unquote(parts.password or ""),
        }

    @classmethod
    def sqlite(cls, folder: Path) -> Database:
        return cls(f"sqlite:///{folder / 'db.sqlite3'}")

    @classmethod
    def mysql(cls, server_url: str, name: str) -> Database:
        """Database ``name`` on the server of ``server_url`` (whose own database is unused)."""
        parts = urlsplit(server_url)
        return cls(parts._replace(scheme="mysql", path=f"/{name}").geturl())

    @property
    def label(self) -> str:
        return f"MariaDB database {self.name}" if self.is_mysql else "file SQLite (WAL)"

    def create(self) -> None:
        """A new empty database (SQLite: created by ``migrate``)."""
        if self.is_mysql:
            self._server(
                f"DROP DATABASE IF EXISTS `{self.name}`",
                f"CREATE DATABASE `{self.name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
            )

    def drop(self) -> None:
        if self.is_mysql:
            self._server(f"DROP DATABASE IF EXISTS `{self.name}`")

    def _server(self, *statements: str) -> None:
        import MySQLdb

        connection = MySQLdb.connect(**self._connect)
        try:
            cursor = connection.cursor()
            for statement in statements:
                cursor.execute(statement)
        finally:
            connection.close()

    def query(self, sql: str, *params: object) -> list[tuple[Any, ...]]:
        """Rows of ``sql`` (``%s`` placeholders), read on a fresh connection."""
        if self.is_mysql:
            import MySQLdb

            connection = MySQLdb.connect(**self._connect, database=self.name, autocommit=True)
            try:
                cursor = connection.cursor()
                cursor.execute(sql, params)
                return list(cursor.fetchall())
            finally:
                connection.close()
        path = self.url.removeprefix("sqlite:///")
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            db.execute("PRAGMA busy_timeout = 20000")
            return db.execute(sql.replace("%s", "?"), params).fetchall()

    def scalar(self, sql: str, *params: object) -> Any:
        return self.query(sql, *params)[0][0]


@dataclass(frozen=True)
class ChatState:
    """What the database says of one chat's conversation."""

    flagged: bool
    reason: str
    replies: Counter[str]  # delivery status of the bot's replies -> count
    modes: Counter[str]  # how the bot's replies were written ("llm", "fallback") -> count
    waiting: int  # customer messages not handled yet


def chat_states(database: Database) -> dict[int, ChatState]:
    """Each Telegram chat's conversation, by chat id."""
    rows = database.query(
        "SELECT r.address, c.needs_attention, c.attention_reason, "
        "(SELECT COUNT(*) FROM crm_message m WHERE m.conversation_id = c.id "
        " AND m.role = 'user' AND m.handled_at IS NULL) "
        "FROM channels_app_conversationroute r "
        "JOIN crm_conversation c ON c.id = r.conversation_id"
    )
    replies: dict[str, Counter[str]] = {}
    modes: dict[str, Counter[str]] = {}
    for address, status, mode, count in database.query(
        "SELECT r.address, m.delivery_status, m.answer_mode, COUNT(*) FROM crm_message m "
        "JOIN channels_app_conversationroute r ON r.conversation_id = m.conversation_id "
        "WHERE m.role = 'assistant' GROUP BY r.address, m.delivery_status, m.answer_mode"
    ):
        replies.setdefault(str(address), Counter())[str(status)] += int(count)
        modes.setdefault(str(address), Counter())[str(mode or "canned")] += int(count)
    return {
        int(address): ChatState(
            flagged=bool(flagged),
            reason=str(reason),
            replies=replies.get(str(address), Counter()),
            modes=modes.get(str(address), Counter()),
            waiting=int(waiting),
        )
        for address, flagged, reason, waiting in rows
        if str(address).lstrip("-").isdigit()
    }


def task_counts(database: Database) -> Counter[str]:
    """django-tasks-db's task rows by status (READY, RUNNING, SUCCESSFUL, FAILED)."""
    rows = database.query(
        "SELECT status, COUNT(*) FROM django_tasks_database_dbtaskresult GROUP BY status"
    )
    return Counter({str(status): int(count) for status, count in rows})


def worker_ids(database: Database) -> set[str]:
    """The worker ids that claimed a task so far."""
    ids: set[str] = set()
    for (raw,) in database.query("SELECT worker_ids FROM django_tasks_database_dbtaskresult"):
        ids.update(json.loads(raw or "[]"))
    return ids


# The app as processes ---------------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    """The Telegram channel account the burst writes to."""

    key: str
    path: str  # the webhook path
    secret: str  # what Telegram echoes in the secret token header


@dataclass
class WorkerProcess:
    number: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid


class BurstApp:
    """The project as processes (Daphne, workers, operator commands) on ``database``."""

    def __init__(
        self,
        folder: Path,
        database: Database,
        *,
        telegram_base: str,
        llm_base: str,
        extra: dict[str, str] | None = None,
    ) -> None:
        self.folder = folder
        self.database = database
        (folder / "static").mkdir(exist_ok=True)
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = app_environment(
            folder,
            self.base_url,
            {
                "DATABASE_URL": database.url,
                "DEBUG": "0",
                "SECRET_KEY": secrets.token_urlsafe(40),
                "TASKS_IN_PROCESS_WORKER": "0",
                "LLM_BASE_URL": llm_base,
                "LLM_API_KEY": "sk-burst-fake-key",
                "TELEGRAM_API_BASE": telegram_base,
                "LOG_LEVEL": "WARNING",
                **(extra or {}),
            },
        )
        self.web: subprocess.Popen[bytes] | None = None
        self.workers: list[WorkerProcess] = []
        self._numbers = itertools.count()

    # Set-up -------------------------------------------------------------------------------

    def manage(self, *args: str, timeout: float = 600) -> str:
        return run_manage(self.env, *args, timeout=timeout)

    def manage_json(self, *args: str) -> dict[str, Any]:
        return dict(json.loads(self.manage(*args, "--json").strip().splitlines()[-1]))

    def set_up(self, slug: str, *, catalog: bool) -> Account:
        """``migrate``, ``create_tenant`` (and ``import_catalog`` of the demo catalog when
        ``catalog``) and ``add_channel … telegram``: the operator commands, run in one
        process (``manage.py shell``) to start Django once instead of four times."""
        commands: list[list[str]] = [
            ["migrate", "--noinput", "--verbosity", "0"],
            ["create_tenant", slug, "--name", f"Burst {slug}", "--json"],
        ]
        if catalog:
            commands.append(["import_catalog", slug, str(CATALOG), "--json"])
        commands.append(["add_channel", slug, "telegram", "--bot-token", TOKEN, "--json"])
        account = self.run_commands(*commands)[-1]
        assert account is not None
        secret = self.database.scalar(
            "SELECT webhook_secret FROM channels_app_channelaccount WHERE "
            + ("`key`" if self.database.is_mysql else '"key"')
            + " = %s",
            account["key"],
        )
        return Account(
            key=str(account["key"]), path=str(account["path"]), secret=stored_secret(str(secret))
        )

    def run_commands(self, *commands: Sequence[str]) -> list[dict[str, Any] | None]:
        """Operator commands run in one process (``manage.py shell``: Django starts once);
        for each, the JSON summary it printed last (``--json``), or None (no JSON)."""
        marker = "@@burst-command "
        script = (
            "import io, json\n"
            "from django.core.management import call_command\n"
            f"for args in {json.dumps([list(command) for command in commands])}:\n"
            "    out = io.StringIO()\n"
            "    call_command(*args, stdout=out)\n"
            "    lines = out.getvalue().strip().splitlines() or ['null']\n"
            f"    print({marker!r} + lines[-1])\n"
        )
        results: list[dict[str, Any] | None] = []
        for line in self.manage("shell", "-c", script).splitlines():
            if line.startswith(marker):
                try:
                    found = json.loads(line.removeprefix(marker))
                except ValueError:
                    found = None
                results.append(found if isinstance(found, dict) else None)
        if len(results) != len(commands):
            raise RuntimeError(f"{len(commands)} commands run, {len(results)} summaries read")
        return results

    # Processes ----------------------------------------------------------------------------

    def start_web(self, timeout: float = 120) -> None:
        log = self.folder / "daphne.log"
        with log.open("ab") as output:
            self.web = daphne_start(self.env, self.port, output)
        daphne_wait_healthy(self.base_url, self.web, log, timeout=timeout)

    def start_worker(self, *extra: str) -> WorkerProcess:
        number = next(self._numbers)
        log = self.folder / f"worker{number}.log"
        with log.open("ab") as output:
            process = subprocess.Popen(  # noqa: S603 (our interpreter, fixed arguments)
                [str(BIN / "python"), "manage.py", *WORKER_COMMAND, *extra],
                cwd=ROOT,
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        worker = WorkerProcess(number, process, log)
        self.workers.append(worker)
        return worker

    def kill(self, worker: WorkerProcess) -> None:
        """SIGKILL: the worker dies wherever it is, as in a machine or OOM crash."""
        worker.process.send_signal(signal.SIGKILL)
        worker.process.wait(timeout=10)

    def stop(self, timeout: float = 30) -> None:
        """Stop every worker (SIGTERM: finish what runs), then Daphne."""
        running = [w for w in self.workers if w.process.poll() is None]
        for worker in running:
            worker.process.terminate()
        for worker in running:
            try:
                worker.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                worker.process.kill()
                worker.process.wait(timeout=10)
        self.workers = []
        if self.web is not None:
            daphne_stop(self.web, timeout=timeout)
            self.web = None

    def tail(self, name: str, size: int = 3000) -> str:
        path = self.folder / name
        return path.read_text(errors="replace")[-size:] if path.exists() else ""

    def logs(self) -> str:
        names = ["daphne.log", *sorted(p.name for p in self.folder.glob("worker*.log"))]
        return "\n".join(f"--- {name} (end) ---\n{self.tail(name)}" for name in names)


# Posting ----------------------------------------------------------------------------------


@dataclass
class Posted:
    """One Update's request: when it was sent and answered (``time.monotonic``)."""

    sent: float = 0.0
    answered: float = 0.0
    status: int = 0
    stored: bool = False  # 200 and stored as new (not a redelivery)
    error: str = ""


_update_ids = itertools.count(920_000_001)


def chat_update(chat: int, *, message_id: int = 1, text: str | None = None) -> bytes:
    """A private text message from ``chat`` as Telegram posts it."""
    payload = update(
        "message",
        update_id=next(_update_ids),
        **private_message(
            chat,
            first_name=f"Cliente {chat % 10_000}",
            message_id=message_id,
            text=text or TEXTS[chat % len(TEXTS)],
        ),
    )
    return json.dumps(payload).encode()


class _Connection:
    """One keep-alive HTTP/1.1 connection that posts JSON and reads a Content-Length
    answer (what Daphne sends for a JsonResponse)."""

    def __init__(self, port: int, head: bytes) -> None:
        self.port = port
        self.head = head
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def post(self, body: bytes) -> tuple[int, bytes]:
        if self.streams is None:
            self.streams = await asyncio.open_connection("127.0.0.1", self.port)
        reader, writer = self.streams
        writer.write(self.head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
        await writer.drain()
        status_line = await reader.readline()
        if not status_line:
            raise ConnectionError("connection closed by the server")
        length, keep = 0, True
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection":
                keep = value != b"close"
        payload = await reader.readexactly(length)
        if not keep:
            await self.close()
        return int(status_line.split()[1]), payload

    async def close(self) -> None:
        streams, self.streams = self.streams, None
        if streams is not None:
            streams[1].close()
            with contextlib.suppress(OSError):
                await streams[1].wait_closed()


async def post_updates(
    port: int,
    account: Account,
    updates: Sequence[tuple[int, bytes]],
    *,
    connections: int,
    timeout: float = 60.0,
) -> dict[int, Posted]:
    """Post ``(chat, body)`` Updates on ``connections`` connections at once, each waiting
    for its answer before the next; what happened to each chat's request."""
    head = (
        f"POST {account.path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\n{SECRET_HEADER}: {account.secret}\r\n"
    ).encode()
    pending = iter(updates)
    posted: dict[int, Posted] = {}

    async def run(connection: _Connection) -> None:
        for chat, body in pending:
            record = posted[chat] = Posted(sent=time.monotonic())
            try:
                async with asyncio.timeout(timeout):
                    record.status, payload = await connection.post(body)
                answer = json.loads(payload) if record.status == 200 else {}
                record.stored = answer.get("ok") is True and answer.get("duplicate") is False
            except Exception as exc:  # counted, the connection reopened
                record.error = type(exc).__name__
                await connection.close()
            record.answered = time.monotonic()
        await connection.close()

    await asyncio.gather(*(run(_Connection(port, head)) for _ in range(connections)))
    return posted


# What came out ----------------------------------------------------------------------------


def replies_per_chat(telegram: FakeTelegram, chats: Iterable[int]) -> dict[int, list[float]]:
    """For each chat, the times (``time.monotonic``) of the sendMessage calls it got."""
    times: dict[int, list[float]] = {chat: [] for chat in chats}
    for call in telegram.calls("sendMessage"):
        chat = int(call.chat_id) if str(call.chat_id).lstrip("-").isdigit() else None
        if chat in times:
            times[chat].append(call.at)
    return times


def answered(telegram: FakeTelegram, chats: Iterable[int]) -> int:
    """How many of ``chats`` got at least one sendMessage."""
    wanted = set(chats)
    return len({int(c.chat_id) for c in telegram.calls("sendMessage")} & wanted)


@dataclass
class Memory:
    rss_kb: int = 0  # VmRSS: resident now
    hwm_kb: int = 0  # VmHWM: the most it was resident
    threads: int = 0
    cpu_seconds: float = 0.0  # user + system time so far
    children: list[int] = field(default_factory=list)


def memory(pid: int) -> Memory:
    """A live process's resident memory, threads and CPU time, from /proc."""
    found = Memory()
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name == "VmRSS":
                found.rss_kb = int(value.split()[0])
            elif name == "VmHWM":
                found.hwm_kb = int(value.split()[0])
            elif name == "Threads":
                found.threads = int(value)
        found.cpu_seconds = cpu_seconds(pid)
        for task in Path(f"/proc/{pid}/task").iterdir():
            found.children += [int(c) for c in (task / "children").read_text().split()]
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a live process (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
