"""Telegram webhook acknowledgement, the product side by side with a FastAPI peer.

Two servers, each on its own free port and its own throwaway folder, one process each:

* the product (``config.asgi``) served by Daphne or uvicorn (``--server``; default: what
  the Makefile's ``run`` target serves with), configured like production (``DEBUG=0``,
  ``TASKS_IN_PROCESS_WORKER=0``, no worker process: only the acknowledgement is measured),
  on a file SQLite database (WAL) or, with ``--db mariadb``, on the MariaDB database
  ``bench_ack`` at 127.0.0.1:3306 (created, then dropped); its tenant and Telegram account
  come from ``create_tenant`` and ``add_channel … telegram`` as in ``webhook_bench``;
* the peer, ``benchmarks/peers/fastapi_telegram.py`` (FastAPI, SQLAlchemy async on
  aiosqlite, one insert per Update), under uvicorn, always on a file SQLite database.

Both uvicorns run with httptools and uvloop when installed; every server keeps its default
access log (into a file in its folder). Rounds are interleaved (product, peer, product, peer…):
each opens ``--connections`` keep-alive connections, warms them up (two Updates each, not
measured), then posts distinct official-shape Updates (unique ``update_id`` and
``message_id``, private chats spread over ``--chats``) with the secret token header for
``--seconds``, each connection waiting for its answer. Both servers get the same sequence
of Updates. The client is ``webhook_bench``'s asyncio HTTP/1.1 client in this process: it
shares the cores with the servers.

Reported per server: requests/s per round and their median, latency p50/p90/p99/max over
all rounds, errors, the CPU the server process used per request, and the ratio of the
medians (product / peer). Then, from the databases after both servers stopped: every
acknowledged Update is stored exactly once (peer: a row of ``updates`` per ``update_id``;
product: its ``tg:{bot_id}:{chat_id}:{message_id}`` id in ``channels_app_inboundevent``
or ``crm_message``, whichever exist, once in all).

Run: ``make bench-ack`` (or ``.venv/bin/python -m benchmarks.ack_bench [--server uvicorn]
[--db mariadb] [--rounds 3] [--seconds 10] [--connections 32]``).
Exit code 0 when every request was acknowledged and every check passes, else 1.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import itertools
import json
import os
import platform
import re
import secrets
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.harness import percentile
from benchmarks.webhook_bench import (
    BOT_ID,
    TOKEN,
    Connection,
    Judge,
    Ledger,
    Phase,
    Site,
    Updates,
    post_all,
    setup_django,
    webhook_secret,
)
from tests.live import BIN, ROOT, daphne_stop, daphne_wait_healthy, free_port

SLUG = "ack-bench"
MARIADB_NAME = "bench_ack"  # created and dropped by this bench; never "test"
MARIADB_URL = f"mysql://root@127.0.0.1:3306/{MARIADB_NAME}"
PRODUCT_TABLES = ("channels_app_inboundevent", "crm_message")
P99_TARGET_MS = 50.0
WARM_UP_PER_CONNECTION = 2
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
ACCESS_LINE = re.compile(r'"(GET|POST|HEAD) /')  # Daphne's and uvicorn's access log lines


# Measuring the machine ----------------------------------------------------------------------


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system, all threads) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def machine_busy() -> float:
    """CPU seconds every process on the machine has used so far (all cores)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return (sum(values[:8]) - idle) / CLOCK_TICKS


def pid_of(*names: str) -> int | None:
    """The first process whose command name is one of ``names`` (e.g. the database server)."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in names:
                    return int(entry.name)
            except OSError:
                continue
    return None


@dataclass
class Usage:
    """CPU seconds used during one round: the server, this client, the database server (if
    it is a process of its own) and everything else on the machine."""

    server: float
    client: float
    database: float
    others: float
    wall: float

    @classmethod
    @contextmanager
    def during(cls, server_pid: int, database_pid: int | None) -> Iterator[list[Usage]]:
        """``with Usage.during(pid, db_pid) as found:`` then ``found[0]`` after the block."""
        found: list[Usage] = []
        marks = (
            process_cpu(server_pid),
            time.process_time(),
            process_cpu(database_pid) if database_pid else 0.0,
            machine_busy(),
            time.perf_counter(),
        )
        yield found
        server = process_cpu(server_pid) - marks[0]
        client = time.process_time() - marks[1]
        database = (process_cpu(database_pid) if database_pid else 0.0) - marks[2]
        busy = machine_busy() - marks[3]
        found.append(
            cls(
                server=server,
                client=client,
                database=database,
                others=max(0.0, busy - server - client - database),
                wall=time.perf_counter() - marks[4],
            )
        )


# The servers ------------------------------------------------------------------------------


def makefile_server() -> str:
    """``uvicorn`` when the Makefile's ``run`` target serves with uvicorn, else ``daphne``."""
    makefile = ROOT / "Makefile"
    if not makefile.exists():
        return "daphne"
    in_run = False
    for line in makefile.read_text().splitlines():
        if line.startswith("\t"):
            if in_run and (found := re.search(r"\b(uvicorn|daphne)\b", line)):
                return found.group(1)
        elif line.strip() and not line.lstrip().startswith("#"):
            in_run = bool(re.match(r"run\s*:", line))
    return "daphne"


def uvicorn_command(app: str, port: int) -> list[str]:
    """uvicorn on 127.0.0.1:``port``, one process, httptools and uvloop when installed: the
    same flags for the product and the peer."""
    command = [str(BIN / "python"), "-m", "uvicorn", app, "--host", "127.0.0.1"]
    command += ["--port", str(port)]
    if importlib.util.find_spec("httptools"):
        command += ["--http", "httptools"]
    if importlib.util.find_spec("uvloop"):
        command += ["--loop", "uvloop"]
    return command


@dataclass
class Server:
    """One server under test: how to post to it and what it answered."""

    name: str  # "product" or "peer"
    label: str  # what it is, for the report
    process: subprocess.Popen[bytes]
    port: int
    path: str
    secret: str
    judge: Judge
    log: Path
    updates: Updates
    ledger: Ledger = field(default_factory=Ledger)
    rounds: list[Phase] = field(default_factory=list)
    usage: list[Usage] = field(default_factory=list)

    def tail(self) -> str:
        """The end of the server's log, without its access log lines."""
        if not self.log.exists():
            return ""
        lines = self.log.read_text(errors="replace").splitlines()
        return "\n".join(line for line in lines if not ACCESS_LINE.search(line))[-4000:]


def start(command: list[str], env: dict[str, str], log: Path, port: int) -> subprocess.Popen:
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 (our interpreter, fixed arguments)
            command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    wait_healthy(process, port, log)
    return process


def wait_healthy(process: subprocess.Popen, port: int, log: Path) -> None:
    try:
        # daphne_wait_healthy polls ``url``/healthz/; both servers answer there.
        daphne_wait_healthy(f"http://127.0.0.1:{port}", process, log, timeout=120)
    except RuntimeError as exc:
        process.kill()
        raise SystemExit(str(exc).replace("Daphne", " ".join(map(str, process.args[:4])))) from None


class ProductSite(Site):
    """``webhook_bench``'s Site, served by Daphne or uvicorn, on SQLite or MariaDB."""

    def __init__(self, folder: Path, server: str, database_url: str | None) -> None:
        # No worker runs, so nothing calls Telegram: its base points where nothing listens.
        super().__init__(folder, "http://127.0.0.1:9")
        self.server = server
        if database_url:
            self.env["DATABASE_URL"] = database_url

    def start_web(self) -> tuple[subprocess.Popen[bytes], int]:
        if self.server == "daphne":
            return super().start_web()
        log = self.folder / "daphne.log"  # the name Site.tail and the checks expect
        command = uvicorn_command("config.asgi:application", self.port)
        return start(command, self.env, log, self.port), self.port


def product_judge(body: bytes, answer: dict[str, Any]) -> str:
    """The product acknowledges a new Update with 200 ``{"ok": true, …}``, without
    ``"duplicate": true`` (a redelivery) or ``"ignored"`` (not for the bot)."""
    if answer.get("ok") is not True or "ignored" in answer:
        return "other"
    return "recognised" if answer.get("duplicate") is True else "new"


def peer_judge(body: bytes, answer: dict[str, Any]) -> str:
    """The peer answers 200 ``{"ok": true, "update_id": N}``, echoing the Update's id."""
    if answer.get("ok") is True and answer.get("update_id") == json.loads(body)["update_id"]:
        return "new"
    return "other"


# MariaDB ----------------------------------------------------------------------------------


def mariadb_connect(database: str | None = None) -> Any:
    import MySQLdb  # requirements-mysql.txt

    options: dict[str, Any] = {"host": "127.0.0.1", "port": 3306, "user": "root"}
    if database:
        options["database"] = database
    return MySQLdb.connect(**options, charset="utf8mb4")


@contextmanager
def mariadb_database() -> Iterator[str]:
    """A fresh ``bench_ack`` database for the product's run, dropped after it."""
    assert MARIADB_NAME != "test"
    connection = mariadb_connect()
    try:
        cursor = connection.cursor()
        cursor.execute(f"DROP DATABASE IF EXISTS `{MARIADB_NAME}`")
        cursor.execute(
            f"CREATE DATABASE `{MARIADB_NAME}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
        )
        cursor.execute("SELECT VERSION()")
        version = cursor.fetchone()[0]
        yield version
    finally:
        connection.cursor().execute(f"DROP DATABASE IF EXISTS `{MARIADB_NAME}`")
        connection.close()


# Driving the rounds -------------------------------------------------------------------------


async def one_round(server: Server, args: argparse.Namespace, database_pid: int | None) -> None:
    """Fresh keep-alive connections, a short warm-up, then ``args.seconds`` of load."""
    connections = [
        Connection(server.port, server.path, server.secret) for _ in range(args.connections)
    ]
    source = iter(server.updates.next, None)
    warm_up = itertools.islice(source, WARM_UP_PER_CONNECTION * args.connections)
    warm = await post_all(connections, warm_up, server.ledger, judge=server.judge)
    if warm.new != warm.requests:
        raise SystemExit(
            f"{server.name}: warm-up failed: {warm.new}/{warm.requests} acknowledged, "
            f"statuses {dict(warm.statuses)}, exceptions {dict(warm.exceptions)}\n{server.tail()}"
        )
    with Usage.during(server.process.pid, database_pid) as usage:
        load = await post_all(
            connections, source, server.ledger, seconds=args.seconds, judge=server.judge
        )
    for connection in connections:
        await connection.close()
    server.rounds.append(load)
    server.usage.append(usage[0])
    print(
        f"  round {len(server.rounds)} {server.name:8} {load.requests / load.seconds:8.1f} req/s"
        f"   p50 {percentile(load.latencies, 50):7.1f}   p99 "
        f"{percentile(load.latencies, 99):7.1f} ms   errors {load.requests - load.new}"
        f"   CPU s: server {usage[0].server:.1f}, client {usage[0].client:.1f}, "
        + (f"database {usage[0].database:.1f}, " if database_pid else "")
        + f"others {usage[0].others:.1f} (of {usage[0].wall * (os.cpu_count() or 1):.1f})",
        flush=True,
    )


async def drive(servers: list[Server], args: argparse.Namespace, database_pid: int | None) -> None:
    for _ in range(args.rounds):
        for server in servers:
            await one_round(server, args, database_pid)


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop for the client when installed: the client then takes less of the cores."""
    if importlib.util.find_spec("uvloop"):
        import uvloop

        return uvloop.new_event_loop
    return None


# The checks -------------------------------------------------------------------------------


@dataclass
class Check:
    label: str
    ok: bool
    detail: str


def answered_check(server: Server) -> Check:
    requests = sum(phase.requests for phase in server.rounds)
    new = sum(phase.new for phase in server.rounds)
    statuses: Counter[int] = Counter()
    exceptions: Counter[str] = Counter()
    for phase in server.rounds:
        statuses.update(phase.statuses)
        exceptions.update(phase.exceptions)
    non_200 = {status: n for status, n in sorted(statuses.items()) if status != 200}
    other = requests - new - sum(non_200.values()) - sum(exceptions.values())
    return Check(
        f"{server.name}: every request acknowledged (200, stored as new)",
        new == requests,
        f"{new}/{requests} acknowledged; non-200 {non_200 or 0}, exceptions "
        f"{dict(exceptions) or 0}, 200 but not acknowledged {other}",
    )


def storage_checks(server: Server, stored: Counter[str], where: str) -> list[Check]:
    """Every acknowledged id stored, none more than once; ``stored`` counts every stored id."""
    acknowledged = Counter(server.ledger.acknowledged)
    lost = [key for key in acknowledged if stored[key] == 0]
    twice = [key for key in acknowledged if stored[key] > 1]
    unacknowledged = [key for key in stored if key not in acknowledged]
    stray = [key for key in unacknowledged if key not in server.ledger.posted]
    return [
        Check(
            f"{server.name}: every acknowledged update stored (zero loss)",
            not lost and sum(acknowledged.values()) == len(acknowledged),
            f"{len(acknowledged)} acknowledged (warm-ups included), {len(lost)} not found "
            f"in {where}; {len(unacknowledged)} stored without an acknowledgement "
            f"({len(stray)} never posted)",
        ),
        Check(
            f"{server.name}: no update stored twice (zero duplicates)",
            not twice and all(count == 1 for count in stored.values()),
            f"{len(twice)} acknowledged updates stored more than once, "
            f"{sum(1 for count in stored.values() if count > 1)} ids in all",
        ),
    ]


def peer_stored(server: Server, database: Path) -> tuple[Counter[str], str]:
    """The peer's rows as the external ids the ledger uses (``tg:{bot}:{chat}:{message}``),
    each only when its ``update_id`` is the one posted with that chat and message id."""
    posted_update_ids = {
        external_id: json.loads(body)["update_id"]
        for external_id, body in server.ledger.posted.items()
    }
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        rows = connection.execute("SELECT update_id, chat_id, message_id FROM updates").fetchall()
    finally:
        connection.close()
    stored: Counter[str] = Counter()
    mismatched = 0
    for update_id, chat_id, message_id in rows:
        external_id = f"tg:{BOT_ID}:{chat_id}:{message_id}"
        if posted_update_ids.get(external_id) != update_id:
            mismatched += 1
            external_id = f"update {update_id}: {external_id}"
        stored[external_id] += 1
    return stored, f"table updates ({len(rows)} rows, {mismatched} not matching what was posted)"


def product_stored(database: Path | None) -> tuple[Counter[str], str]:
    """Telegram message ids (``tg:…``) in the product's raw-event and message tables, from its
    SQLite file, or from MariaDB when ``database`` is None."""
    if database is None:
        connection: Any = mariadb_connect(MARIADB_NAME)
        exists = "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()"
    else:
        connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
        exists = "SELECT name FROM sqlite_master WHERE type = 'table'"
    stored: Counter[str] = Counter()
    notes = []
    try:
        cursor = connection.cursor()
        cursor.execute(exists)
        tables = {row[0] for row in cursor.fetchall()}
        for table in PRODUCT_TABLES:
            if table not in tables:
                notes.append(f"{table}: no such table")
                continue
            cursor.execute(f"SELECT external_id FROM {table} WHERE external_id LIKE 'tg:%'")  # noqa: S608 (our constant)
            ids = Counter(str(row[0]) for row in cursor.fetchall())
            notes.append(f"{table}: {sum(ids.values())} tg: ids")
            stored.update(ids)
    finally:
        connection.close()
    return stored, ", ".join(notes)


# The report -------------------------------------------------------------------------------


def rate(phase: Phase) -> float:
    return phase.requests / phase.seconds if phase.seconds else 0.0


def report(server: Server) -> float:
    """Print the server's figures; its median requests/s."""
    rates = [rate(phase) for phase in server.rounds]
    latencies = [ms for phase in server.rounds for ms in phase.latencies]
    requests = sum(phase.requests for phase in server.rounds)
    errors = requests - sum(phase.new for phase in server.rounds)
    cpu = sum(usage.server for usage in server.usage)
    median = statistics.median(rates)
    print(f"\n{server.name}: {server.label}")
    print(
        f"  requests/s    median {median:.1f}   rounds "
        + "  ".join(f"{value:.1f}" for value in rates)
    )
    print(
        "  latency ms    p50 {:.1f}   p90 {:.1f}   p99 {:.1f}   max {:.1f}   mean {:.1f}".format(
            *(percentile(latencies, q) for q in (50, 90, 99, 100)), statistics.fmean(latencies)
        )
        + f"   ({requests} requests, {len(server.rounds)} rounds)"
    )
    print(f"  errors        {errors}")
    print(f"  server CPU    {cpu / requests * 1000:.2f} ms per request ({cpu:.1f} s)")
    return median


# The run ----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add(
        "--server",
        choices=("daphne", "uvicorn"),
        default=makefile_server(),
        help="what serves the product (default: what `make run` uses, %(default)s)",
    )
    add(
        "--db",
        choices=("sqlite", "mariadb"),
        default="sqlite",
        help="the product's database; the peer is always on SQLite (default %(default)s)",
    )
    add("--rounds", type=int, default=3, help="rounds per server (default %(default)s)")
    add("--seconds", type=float, default=10.0, help="length of a round (default %(default)s)")
    add("--connections", type=int, default=32, help="keep-alive connections (default %(default)s)")
    add("--chats", type=int, default=200, help="private chats (default %(default)s)")
    add("--seed", type=int, default=2026, help="seed of the Updates (default %(default)s)")
    args = parser.parse_args()
    sys.exit(0 if run(args) else 1)


def run(args: argparse.Namespace) -> bool:
    clean_env = dict(os.environ)
    print(
        f"acknowledgement benchmark: product ({args.server}, {args.db}) vs FastAPI peer "
        f"(uvicorn, SQLite); {args.rounds} interleaved rounds each, {args.connections} "
        f"connections, {args.seconds:g} s, {args.chats} private chats; {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}; load average "
        + " ".join(f"{value:.2f}" for value in os.getloadavg())
    )
    with ExitStack() as stack:
        product_folder = Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="ack-product-"))
        )
        peer_folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ack-peer-")))
        database_url, database_pid, database_note = None, None, "file SQLite (WAL)"
        if args.db == "mariadb":
            version = stack.enter_context(mariadb_database())
            database_url = MARIADB_URL
            database_pid = pid_of("mariadbd", "mysqld")
            database_note = f"MariaDB {version} ({MARIADB_URL})"

        # The product, set up as webhook_bench does it.
        site = ProductSite(product_folder, args.server, database_url)
        started = time.perf_counter()
        site.manage("migrate", "--noinput")
        site.manage_json("create_tenant", SLUG, "--name", "Ack Bench")
        account = site.manage_json("add_channel", SLUG, "telegram", "--bot-token", TOKEN)
        setup_django(site.env)
        secret = webhook_secret(account["key"])
        from django.db import connections

        connections.close_all()
        print(f"product set-up: {time.perf_counter() - started:.1f} s, {database_note}")
        product_process, product_port = site.start_web()
        stack.callback(site.stop_web, product_process)

        # The peer.
        peer_port = free_port()
        peer_db = peer_folder / "peer.sqlite3"
        peer_secret, peer_token = secrets.token_hex(16), secrets.token_urlsafe(32)
        peer_env = {
            **clean_env,
            "PEER_DB_PATH": str(peer_db),
            "PEER_WEBHOOK_SECRET": peer_secret,
            "PEER_SECRET_TOKEN": peer_token,
            "PYTHONUNBUFFERED": "1",
        }
        peer_command = uvicorn_command("benchmarks.peers.fastapi_telegram:app", peer_port)
        peer_process = start(peer_command, peer_env, peer_folder / "uvicorn.log", peer_port)
        stack.callback(daphne_stop, peer_process, 30)

        fast = [name for name in ("httptools", "uvloop") if importlib.util.find_spec(name)]
        uvicorn_how = f"uvicorn ({', '.join(fast) or 'pure-Python HTTP, asyncio'})"
        product_how = "Daphne" if args.server == "daphne" else uvicorn_how
        servers = [
            Server(
                name="product",
                label=f"{product_how} serving config.asgi, {database_note}, DEBUG=0, no worker",
                process=product_process,
                port=product_port,
                path=account["path"],
                secret=secret,
                judge=product_judge,
                log=product_folder / "daphne.log",
                updates=Updates(args.chats, args.seed),
            ),
            Server(
                name="peer",
                label=f"FastAPI + SQLAlchemy async (aiosqlite) under {uvicorn_how}, "
                "file SQLite (WAL)",
                process=peer_process,
                port=peer_port,
                path=f"/webhook/{peer_secret}",
                secret=peer_token,
                judge=peer_judge,
                log=peer_folder / "uvicorn.log",
                updates=Updates(args.chats, args.seed),
            ),
        ]
        loop_factory = event_loop_factory()
        print(
            f"client: asyncio HTTP/1.1 ({'uvloop' if loop_factory else 'default loop'}), "
            f"{args.connections} keep-alive connections per round, one request in flight each, "
            f"in this process; CPU seconds below are of the {os.cpu_count()} cores together\n"
        )
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            runner.run(drive(servers, args, database_pid))

        product, peer = servers
        product_median = report(product)
        peer_median = report(peer)
        ratio = product_median / peer_median if peer_median else float("nan")
        product_p99 = percentile([ms for p in product.rounds for ms in p.latencies], 99)
        print(f"\nratio product / peer (median requests/s): {ratio:.2f}")
        if args.db == "sqlite":
            verdict = "met" if ratio >= 1 else "NOT met"
            print(f"  target        product >= 1.0 x the peer's requests/s on SQLite: {verdict}")
        else:
            print("  (the product on MariaDB, the peer on SQLite: not a like-for-like ratio)")
            print(
                f"  target        product p99 < {P99_TARGET_MS:g} ms on MariaDB: "
                f"{'met' if product_p99 < P99_TARGET_MS else 'NOT met'} ({product_p99:.1f} ms)"
            )
        print(f"load average at the end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")

        # Stop both servers, then read what they stored.
        site.stop_web(product_process)
        daphne_stop(peer_process, 30)
        product_ids, product_where = product_stored(
            None if args.db == "mariadb" else product_folder / "db.sqlite3"
        )
        peer_ids, peer_where = peer_stored(peer, peer_db)
        answered = [answered_check(product), answered_check(peer)]
        stored = [
            *storage_checks(product, product_ids, product_where),
            *storage_checks(peer, peer_ids, peer_where),
        ]
        print("\nchecks:")
        for check in (answered[0], *stored[:2], answered[1], *stored[2:]):
            print(f"  {'PASS' if check.ok else 'FAIL'}  {check.label}\n        {check.detail}")
        stored_ok = all(check.ok for check in stored)
        answered_ok = all(check.ok for check in answered)
        print(
            f"\nloss and duplicates: {'zero (PASS)' if stored_ok else 'FOUND (FAIL)'}; "
            f"every request acknowledged: {'yes (PASS)' if answered_ok else 'no (FAIL)'}"
        )
        ok = stored_ok and answered_ok
        if not ok:
            for server in servers:
                print(f"\n--- {server.name} log (end, access lines left out) ---\n{server.tail()}")
        return ok


if __name__ == "__main__":
    main()
