"""Telegram webhook acknowledgement under load, then proof that nothing was lost or doubled.

Real processes on a throwaway folder (file SQLite database, Chroma directory), configured
like production (``DEBUG=0``, no in-process task worker: the web process only acknowledges):

1. ``migrate``, ``create_tenant``, ``import_catalog`` (the demo catalog, so the fallback
   replies name products) and ``add_channel … telegram``; a Bot API server on 127.0.0.1
   (tests/fakes/telegram_server.py, in this process) stands in for Telegram.
2. Daphne serves ``config.asgi``. Load: ``--connections`` keep-alive connections post
   distinct, official-shape Updates (unique ``update_id`` and ``message_id``, private chats
   spread over ``--chats``) with the secret token header for ``--seconds``, each connection
   waiting for its answer before posting again. Every request's latency and status is kept.
   Then ~200 acknowledged Updates are posted again (Telegram's redelivery): each must be
   recognised (200, nothing stored).
3. Daphne stops; ``worker --batch`` processes (two, in parallel) answer everything as in
   production, with no LLM key (the catalog fallback answers).
4. From the database and from the fake's records: every acknowledged Update is stored once,
   handled, and its chat got every reply exactly once.

The client is a minimal asyncio HTTP/1.1 client in this process, so it costs little, but it
shares the machine's cores with Daphne: the figures are for client and server on one host.

Run: ``make bench-webhook`` (or ``.venv/bin/python -m benchmarks.webhook_bench``).
Exit code 0 when every check passes (zero loss, zero duplicates), else 1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import platform
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.harness import percentile
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
)

CATALOG = ROOT / "demo" / "demo_catalog.csv"
TOKEN = "515151:AAwebhook-bench-token"  # noqa: S105 (a fake bot's token)
BOT_ID = TOKEN.split(":", 1)[0]
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)
SLUG = "webhook-bench"
FIRST_CHAT = 880_000_000
WARM_UP = 64  # requests before the measure (connections opened, code paths warm)
REDELIVERIES = 200
REQUEST_TIMEOUT = 30.0  # seconds; a request taking longer counts as an exception
WORKERS = 2  # worker processes answering in parallel
NAMES = ["Ana", "Luis", "María", "Jorge", "Camila", "Andrés", "Sofía", "Diego"]
TEXTS = [
    "Hola, necesito medir turbidez en agua potable",
    "Busco un medidor de pH de mesa para laboratorio",
    "¿Tienen sondas de oxígeno disuelto?",
    "Necesito reactivo DPD para cloro libre",
    "¿Cuánto cuesta un conductímetro portátil?",
    "Quiero un sensor de nivel para un tanque",
    "Busco solución tampón pH 7",
    "I need a portable turbidity meter",
]


# Processes --------------------------------------------------------------------------------


class Site:
    """The project as separate processes on one database in ``folder``."""

    def __init__(self, folder: Path, telegram_base: str) -> None:
        self.folder = folder
        (folder / "static").mkdir()
        self.port = free_port()
        # Production-like (DEBUG off, no in-process worker); no LLM key and nothing on the
        # LLM port, so the catalog fallback answers.
        self.env = app_environment(
            folder,
            f"http://127.0.0.1:{self.port}",
            {
                "DEBUG": "0",
                "SECRET_KEY": secrets.token_urlsafe(40),
                "TELEGRAM_API_BASE": telegram_base,
                "TASKS_IN_PROCESS_WORKER": "0",
                "LOG_LEVEL": "WARNING",
            },
        )

    def manage(self, *args: str) -> str:
        try:
            return run_manage(self.env, *args, timeout=600)
        except RuntimeError as exc:
            raise SystemExit(str(exc)[-3000:]) from None

    def manage_json(self, *args: str) -> dict[str, Any]:
        return dict(json.loads(self.manage(*args, "--json").strip().splitlines()[-1]))

    def start_web(self) -> tuple[subprocess.Popen[bytes], int]:
        log = self.folder / "daphne.log"
        with log.open("wb") as output:
            process = daphne_start(self.env, self.port, output)
        try:
            daphne_wait_healthy(f"http://127.0.0.1:{self.port}", process, log, timeout=120)
        except RuntimeError as exc:
            process.kill()
            raise SystemExit(str(exc)) from None
        return process, self.port

    def stop_web(self, process: subprocess.Popen[bytes]) -> None:
        daphne_stop(process, timeout=30)

    def run_workers(self, count: int) -> None:
        """``count`` batch workers in parallel, as production runs them, until they exit."""
        processes = []
        for number in range(count):
            log = (self.folder / f"worker{number}.log").open("ab")
            processes.append(
                subprocess.Popen(  # noqa: S603 (our interpreter, fixed arguments)
                    [
                        str(BIN / "python"),
                        "manage.py",
                        "worker",
                        "--batch",
                    ],
                    cwd=ROOT,
                    env=self.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        for number, process in enumerate(processes):
            if process.wait() != 0:
                raise SystemExit(f"worker failed:\n{self.tail(f'worker{number}.log')}")

    def tail(self, name: str) -> str:
        path = self.folder / name
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""


# The client -------------------------------------------------------------------------------


class Connection:
    """One keep-alive HTTP/1.1 connection, written by hand so the client costs little CPU."""

    def __init__(self, port: int, path: str, secret: str) -> None:
        self.port = port
        self.head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: application/json\r\n{SECRET_HEADER}: {secret}\r\n"
        ).encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, body: bytes) -> tuple[int, bytes]:
        if self.reader is None or self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        reader, writer = self.reader, self.writer
        writer.write(self.head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
        await writer.drain()
        status_line = await reader.readline()
        if not status_line:
            raise ConnectionError("connection closed by the server")
        status = int(status_line.split()[1])
        length: int | None = None
        chunked, keep = False, True
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value
            elif name == b"connection":
                keep = value != b"close"
        if chunked:
            parts = []
            while size := int((await reader.readline()).split(b";")[0], 16):
                parts.append((await reader.readexactly(size + 2))[:-2])
            await reader.readline()  # the empty line after the last chunk
            payload = b"".join(parts)
        elif length is not None:
            payload = await reader.readexactly(length)
        else:
            payload, keep = await reader.read(), False
        if not keep:
            await self.close()
        return status, payload

    async def close(self) -> None:
        writer, self.reader, self.writer = self.writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


class Updates:
    """Distinct Updates as Telegram sends them: ``update_id`` counting up, ``message_id``
    counting up per private chat, chats drawn at random from ``chats``."""

    def __init__(self, chats: int, seed: int) -> None:
        self.chats = chats
        self.rng = random.Random(seed)
        self.update_ids = itertools.count(810_000_001)
        self.message_ids: dict[int, itertools.count[int]] = {}

    def next(self) -> tuple[str, bytes]:
        """``(external_id, body)``: the id the inbox stores the message under, and the JSON."""
        number = self.rng.randrange(self.chats)
        chat = FIRST_CHAT + number
        message_id = next(self.message_ids.setdefault(chat, itertools.count(1)))
        payload = update(
            "message",
            update_id=next(self.update_ids),
            **private_message(
                chat,
                first_name=NAMES[number % len(NAMES)],
                message_id=message_id,
                text=self.rng.choice(TEXTS),
            ),
        )
        # The inbox's unique key for a Telegram message (channels_app.telegram.webhook).
        return f"tg:{BOT_ID}:{chat}:{message_id}", json.dumps(payload).encode()


@dataclass
class Phase:
    """What one phase of posting saw."""

    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)  # ms, every request
    statuses: Counter[int] = field(default_factory=Counter)
    exceptions: Counter[str] = field(default_factory=Counter)
    new: int = 0  # 200 and stored ("duplicate": false)
    recognised: int = 0  # 200 and recognised as a redelivery ("duplicate": true)
    other: int = 0  # 200 with any other answer

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def non_200(self) -> dict[int, int]:
        return {status: n for status, n in sorted(self.statuses.items()) if status != 200}


@dataclass
class Ledger:
    """Every Update posted, and those the server acknowledged as stored."""

    posted: dict[str, bytes] = field(default_factory=dict)
    acknowledged: list[str] = field(default_factory=list)


# What a 200 answer means: "new" (stored), "recognised" (a redelivery) or "other".
Judge = Callable[[bytes, dict[str, Any]], str]


def product_answer(body: bytes, answer: dict[str, Any]) -> str:
    """The product's webhook answers ``{"ok": true, "duplicate": false|true}``."""
    if answer.get("ok") is True and answer.get("duplicate") is False:
        return "new"
    if answer.get("ok") is True and answer.get("duplicate") is True:
        return "recognised"
    return "other"


async def post_all(
    connections: list[Connection],
    source: Iterator[tuple[str, bytes]],
    ledger: Ledger,
    *,
    seconds: float | None = None,
    judge: Judge | None = None,
) -> Phase:
    """Post from ``source`` (an iterator of ``(external_id, body)``) on every connection at
    once, each waiting for its answer, until it runs dry or ``seconds`` pass. ``judge``
    reads a 200's answer (default: the product's, :func:`product_answer`)."""
    judge = judge or product_answer
    phase = Phase()
    started = time.perf_counter()
    deadline = started + seconds if seconds is not None else float("inf")

    async def run(connection: Connection) -> None:
        while time.perf_counter() < deadline:
            item = next(source, None)
            if item is None:
                return
            external_id, body = item
            ledger.posted[external_id] = body
            sent = time.perf_counter()
            try:
                async with asyncio.timeout(REQUEST_TIMEOUT):
                    status, payload = await connection.post(body)
            except Exception as exc:  # any failure is counted, the connection reopened
                phase.latencies.append((time.perf_counter() - sent) * 1000)
                phase.exceptions[type(exc).__name__] += 1
                await connection.close()
                continue
            phase.latencies.append((time.perf_counter() - sent) * 1000)
            phase.statuses[status] += 1
            if status != 200:
                continue
            verdict = judge(body, json.loads(payload))
            if verdict == "new":
                phase.new += 1
                ledger.acknowledged.append(external_id)
            elif verdict == "recognised":
                phase.recognised += 1
            else:
                phase.other += 1

    await asyncio.gather(*(run(c) for c in connections))
    phase.seconds = time.perf_counter() - started
    return phase


async def drive(
    port: int, path: str, secret: str, args: argparse.Namespace, site: Site
) -> tuple[Phase, Phase, Ledger, int, int]:
    """Warm up, load, redeliver; the load and redelivery phases, the ledger and the stored
    user messages before and after the redelivery."""
    connections = [Connection(port, path, secret) for _ in range(args.connections)]
    updates = Updates(args.chats, args.seed)
    ledger = Ledger()

    def fresh(limit: int | None = None) -> Iterator[tuple[str, bytes]]:
        produced = itertools.count()
        while limit is None or next(produced) < limit:
            yield updates.next()

    warm = await post_all(connections, fresh(WARM_UP), ledger)
    if warm.new != warm.requests:
        raise SystemExit(f"warm-up failed: {warm}\n{site.tail('daphne.log')}")
    load = await post_all(connections, fresh(), ledger, seconds=args.seconds)

    before = await asyncio.to_thread(stored_user_messages)
    picked = random.Random(args.seed).sample(
        ledger.acknowledged, min(REDELIVERIES, len(ledger.acknowledged))
    )
    again = iter([(external_id, ledger.posted[external_id]) for external_id in picked])
    replay = await post_all(connections, again, Ledger())
    after = await asyncio.to_thread(stored_user_messages)
    for connection in connections:
        await connection.close()
    return load, replay, ledger, before, after


# The database (Django in this process, on the same DATABASE_URL) ----------------------------


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)  # the settings the processes run with
    import django

    django.setup()


def webhook_secret(key: str) -> str:
    from channels_app.models import ChannelAccount
    from tenants.scoping import scopes_disabled

    with scopes_disabled():
        return str(ChannelAccount.objects.get(key=key).webhook_secret)


def stored_user_messages() -> int:
    from django.db import connection

    from crm.models import Message
    from tenants.scoping import scopes_disabled

    with scopes_disabled():
        count = Message.all_objects.filter(role=Message.Role.USER).count()
    connection.close()
    return int(count)


def task_state() -> dict[str, int]:
    """Queued tasks, and conversations with unanswered messages and no queued task."""
    from django_tasks_db.models import DBTaskResult

    from crm.models import Message
    from tenants.scoping import scopes_disabled

    with scopes_disabled():
        ready = list(DBTaskResult.objects.ready().values_list("args_kwargs", flat=True))
        queued = {tuple(a["args"]) for a in ready}
        waiting = set(
            Message.objects.filter(role=Message.Role.USER, handled_at__isnull=True).values_list(
                "tenant_id", "conversation_id"
            )
        )
    return {"tasks": len(ready), "waiting": len(waiting), "missing": len(waiting - queued)}


def unanswered() -> int:
    from crm.models import Message
    from tenants.scoping import scopes_disabled

    with scopes_disabled():
        waiting = Message.objects.filter(role=Message.Role.USER, handled_at__isnull=True)
        unsent = Message.objects.filter(
            role=Message.Role.ASSISTANT, delivery_status=Message.Delivery.PENDING
        )
        return waiting.count() + unsent.count()


@dataclass
class Check:
    label: str
    ok: bool
    detail: str


def checks(
    ledger: Ledger, load: Phase, replay: Phase, before: int, after: int, telegram: FakeTelegram
) -> list[Check]:
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    from crm.models import Message
    from tenants.scoping import scopes_disabled

    with scopes_disabled():
        users = list(
            Message.all_objects.filter(role=Message.Role.USER).values_list(
                "external_id", "handled_at"
            )
        )
        replies = list(
            Message.all_objects.filter(role=Message.Role.ASSISTANT).values_list(
                "conversation__route__address", "content", "delivery_status", "external_id"
            )
        )
        failed_tasks = DBTaskResult.objects.filter(status=TaskResultStatus.FAILED).count()

    acknowledged = set(ledger.acknowledged)
    ids = Counter(external_id for external_id, _ in users)
    stored = set(ids)
    lost = acknowledged - stored
    unacknowledged = stored - acknowledged  # requests that errored after storing
    stray = unacknowledged - set(ledger.posted)
    errored = load.requests - load.new
    twice = sum(1 for count in ids.values() if count > 1)
    unhandled = sum(1 for _, handled_at in users if handled_at is None)

    sent_replies = Counter((a, c) for a, c, status, _ in replies if status == "sent")
    not_sent = Counter(status for _, _, status, _ in replies if status != "sent")
    calls = telegram.calls("sendMessage")
    sent_calls = Counter((str(call.chat_id), call.text) for call in calls)
    surplus = sum((sent_calls - sent_replies).values())
    missing = sum((sent_replies - sent_calls).values())
    # The fake numbers its messages 1001, 1002… per chat: every one it sent must be the
    # external id of exactly one stored reply.
    per_chat = Counter(str(call.chat_id) for call in calls)
    fake_ids = Counter(
        f"tg-out:{BOT_ID}:{chat}:{1001 + n}"
        for chat, count in per_chat.items()
        for n in range(count)
    )
    reply_ids = Counter(external_id for *_, external_id in replies if external_id)
    chats = {external_id.split(":")[2] for external_id in stored if external_id}
    answered = {address for address, _ in sent_replies}
    wrong_token = sum(1 for call in calls if call.token != TOKEN)

    return [
        Check(
            "stored user messages == acknowledged updates (zero loss)",
            not lost and not stray and len(unacknowledged) <= errored,
            f"{len(stored)} stored, {len(acknowledged)} acknowledged, {len(lost)} lost, "
            f"{len(unacknowledged)} stored without an acknowledgement (errored requests: "
            f"{errored})",
        ),
        Check(
            "no external_id stored twice",
            twice == 0 and len(users) == len(stored),
            f"{twice} ids twice among {len(users)} user messages",
        ),
        Check(
            "redeliveries recognised, nothing new stored",
            replay.recognised == replay.requests and replay.new == 0 and after == before,
            f"{replay.recognised}/{replay.requests} answered 200 duplicate, "
            f"{replay.new} stored as new, user messages {before} -> {after}",
        ),
        Check(
            "every user message handled",
            unhandled == 0,
            f"{unhandled} of {len(users)} unhandled",
        ),
        Check(
            "every chat answered",
            chats <= answered,
            f"{len(chats & answered)}/{len(chats)} chats with a sent reply",
        ),
        Check(
            "every reply sent (no reply pending or failed)",
            not not_sent and failed_tasks == 0,
            f"{len(replies)} replies, not sent: {dict(not_sent) or 0}, failed tasks: "
            f"{failed_tasks}",
        ),
        Check(
            "every reply sent exactly once (fake sendMessage == sent replies, per chat)",
            surplus == 0 and missing == 0 and fake_ids == reply_ids and wrong_token == 0,
            f"{len(calls)} sendMessage calls, {sum(sent_replies.values())} sent replies, "
            f"{surplus} sent twice or unrecorded, {missing} recorded but not received, "
            f"fake message ids == stored reply ids: {fake_ids == reply_ids}",
        ),
    ]


# The run ----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--chats", type=int, default=200)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()

    telegram = FakeTelegram().start()
    try:
        with tempfile.TemporaryDirectory(prefix="webhook-bench-") as folder:
            ok = run(args, Site(Path(folder), telegram.base_url), telegram)
    finally:
        telegram.stop()
    sys.exit(0 if ok else 1)


def run(args: argparse.Namespace, site: Site, telegram: FakeTelegram) -> bool:
    print(
        f"webhook benchmark: {args.connections} connections, {args.seconds:g} s, "
        f"{args.chats} private chats; {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )
    site.manage("migrate", "--noinput")
    site.manage_json("create_tenant", SLUG, "--name", "Webhook Bench")
    summary = site.manage_json("import_catalog", SLUG, str(CATALOG))
    account = site.manage_json("add_channel", SLUG, "telegram", "--bot-token", TOKEN)
    setup_django(site.env)
    secret = webhook_secret(account["key"])
    print(
        f"set-up: {summary['created']} products from {CATALOG.name}; file SQLite (WAL), "
        "DEBUG=0, no in-process worker, no LLM key"
    )

    web, port = site.start_web()
    try:
        load, replay, ledger, before, after = asyncio.run(
            drive(port, account["path"], secret, args, site)
        )
    finally:
        site.stop_web(web)

    print(
        f"client: asyncio HTTP/1.1, {args.connections} keep-alive connections, one request "
        f"in flight each, in the bench process: it shares the {os.cpu_count()} cores with Daphne"
    )
    print(f"\nacknowledgement (load phase, Daphne on 127.0.0.1:{port}, {load.seconds:.1f} s):")
    print(f"  requests      {load.requests}")
    print(f"  requests/s    {load.requests / load.seconds:.1f}")
    figures = [percentile(load.latencies, q) for q in (50, 90, 99, 100)]
    print(
        "  latency ms    p50 {:.1f}   p90 {:.1f}   p99 {:.1f}   max {:.1f}   mean {:.1f}".format(
            *figures, statistics.fmean(load.latencies)
        )
    )
    print(
        f"  errors        {load.requests - load.new}: non-200 {load.non_200 or 0}, "
        f"exceptions {dict(load.exceptions) or 0}, "
        f"200 but not stored as new {load.other + load.recognised}"
    )
    print(f"  target        p99 < 50 ms: {'met' if figures[2] < 50 else 'NOT met'}")
    print(
        f"redelivery: {replay.requests} acknowledged updates posted again in {replay.seconds:.2f}"
        f" s: {replay.recognised} recognised (200, duplicate), {replay.new} stored as new, "
        f"non-200 {replay.non_200 or 0}, exceptions {dict(replay.exceptions) or 0}"
    )

    state = task_state()
    print(
        f"\nanswering (not part of the acknowledgement figures): {state['tasks']} tasks queued "
        f"for {state['waiting']} conversations, {state['missing']} without a task"
    )
    started = time.perf_counter()
    if state["missing"]:
        recovered = site.manage_json("inbox_recover", "--older-than", "0")
        print(f"  inbox_recover --older-than 0: {recovered}")
    rounds = 0
    while rounds < 3:
        rounds += 1
        site.run_workers(WORKERS)
        if not unanswered():
            break
        site.manage_json("inbox_recover", "--older-than", "0")
    seconds = time.perf_counter() - started
    from crm.models import Message
    from tenants.scoping import scopes_disabled

    with scopes_disabled():
        turns = Message.all_objects.filter(role=Message.Role.ASSISTANT).count()
    print(
        f"  {WORKERS} worker --batch processes in parallel, {rounds} round(s): {turns} turns "
        f"in {seconds:.1f} s = {turns / seconds:.1f} turns/s (process start and model load "
        "included; all of a chat's waiting messages are answered in one turn)"
    )

    results = checks(ledger, load, replay, before, after, telegram)
    print("\nchecks:")
    for check in results:
        print(f"  {'PASS' if check.ok else 'FAIL'}  {check.label}\n        {check.detail}")
    ok = all(check.ok for check in results)
    print(f"\nloss and duplicates: {'zero (PASS)' if ok else 'FOUND (FAIL)'}")
    if not ok:
        for name in ("daphne.log", *(f"worker{n}.log" for n in range(WORKERS))):
            print(f"\n--- {name} (end) ---\n{site.tail(name)}")
    return ok


if __name__ == "__main__":
    main()
