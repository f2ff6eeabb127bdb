"""A burst of chats writing at once: wall time until every chat has exactly one reply.

Real processes on a throwaway folder, configured like production (``DEBUG=0``, no
in-process task worker, an LLM key): Daphne serving ``config.asgi``, ``--workers`` worker
processes (``manage.py`` + ``tests.burst.WORKER_COMMAND``), an OpenAI-compatible server
(tests/fakes/openai_server.py) answering every call with a short text after
``--llm-delay`` seconds, and a Bot API server (tests/fakes/telegram_server.py) standing in
for Telegram; both fakes run in this process on threaded servers (a thread per
connection), so their calls overlap.

1. Set-up with the operator commands: ``migrate``, ``create_tenant``, ``import_catalog``
   (the demo catalog), ``add_channel … telegram`` (one ``manage.py shell`` process).
2. For each size in ``--chats`` (``200,1000`` runs both, each with newly started
   processes): Daphne and the workers start; warm-up chats (one per worker, repeated until
   every worker has run a turn, so the embedding model is loaded everywhere) are answered;
   the workers are left to go idle.
3. The burst: one official-shape Update per distinct private chat, all posted at once over
   ``--connections`` keep-alive connections. Measured from the first post: when the posts
   were acknowledged, when the fake Telegram recorded the first reply and a reply to every
   chat (the wall time), and each chat's latency from its own post to its reply.
4. After ``--settle`` seconds more: replies per chat counted at the fake (0 / 1 / 2+), the
   database's view (flagged conversations, replies not sent, fallback replies), and each
   worker's resident memory (VmRSS and VmHWM from /proc/<pid>/status) and the CPU time
   it and Daphne spent during the burst (per reply: what bounds throughput on few cores).

``--db sqlite`` uses a file SQLite in the folder; ``--db mariadb`` creates (and at the end
drops) the database ``bench_burst`` on the MariaDB at 127.0.0.1:3306 and uses Redis
database 7 for the channel layer.

Run: ``make bench-burst`` (or ``.venv/bin/python -m benchmarks.burst_bench --db sqlite
--chats 200,1000``). Exit code 1 when any chat got no reply or more than one.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import platform
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.harness import percentile
from tests.burst import (
    WORKER_COMMAND,
    Account,
    BurstApp,
    Database,
    Memory,
    WorkerProcess,
    answered,
    chat_states,
    chat_update,
    cpu_seconds,
    memory,
    post_updates,
    replies_per_chat,
    slow_llm,
    task_counts,
    worker_ids,
)
from tests.fakes.openai_server import FakeLLM
from tests.fakes.telegram_server import FakeTelegram

MARIADB_URL = "mysql://root@127.0.0.1:3306/bench_burst"
REDIS_URL = "redis://127.0.0.1:6379/7"
SLUG = "burst-bench"
WARM_UP_CHATS = 500_000_000  # warm-up chats count up from here
BURST_CHATS = 600_000_000  # the burst of size number n uses BURST_CHATS + n * 1_000_000 + i
WARM_UP_ROUNDS = 8
WARM_UP_GAP = 0.3  # seconds between warm-up chats
IDLE_CPU = 0.05  # CPU seconds per second under which a worker counts as idle


@dataclass
class Burst:
    """What one burst measured."""

    chats: int
    warm_up_rounds: int = 0
    warm_up_seconds: float = 0.0
    post_seconds: float = 0.0  # first post sent -> last post acknowledged
    ack_ms: list[float] = field(default_factory=list)
    not_stored: Counter[str] = field(default_factory=Counter)
    first_reply: float | None = None  # seconds from the first post
    last_reply: float | None = None  # seconds from the first post to every chat answered
    latencies: list[float] = field(default_factory=list)  # s, each chat's post -> reply
    per_chat: Counter[str] = field(default_factory=Counter)  # "0", "1", "2+"
    flagged: int = 0
    not_sent: Counter[str] = field(default_factory=Counter)
    modes: Counter[str] = field(default_factory=Counter)
    llm_calls: int = 0
    typing_calls: int = 0  # sendChatAction calls to the burst's chats
    llm_peak: int = 0
    tasks: Counter[str] = field(default_factory=Counter)
    workers: list[tuple[int, Memory]] = field(default_factory=list)  # pid, at the end
    burst_cpu: list[float] = field(default_factory=list)  # each worker's CPU s in the burst
    web_cpu: float = 0.0  # Daphne's CPU s in the burst
    web: Memory = field(default_factory=Memory)
    worker_deaths: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.per_chat["0"] == 0 and self.per_chat["2+"] == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "mariadb"), default="sqlite")
    parser.add_argument(
        "--chats", default="200", help="chats in the burst; several sizes: 200,1000"
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--llm-delay", type=float, default=1.0, help="seconds per LLM answer")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument(
        "--concurrency",
        type=int,
        default=None,
        help="WORKER_CONCURRENCY for the workers (default: the product's)",
    )
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds to wait for replies")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds to wait for extras")
    args = parser.parse_args()
    sizes = [int(size) for size in args.chats.split(",") if size.strip()]

    telegram = FakeTelegram().start()
    llm = slow_llm(args.llm_delay).start()
    try:
        with tempfile.TemporaryDirectory(prefix="burst-bench-") as folder:
            database = (
                Database(MARIADB_URL) if args.db == "mariadb" else Database.sqlite(Path(folder))
            )
            database.create()
            try:
                ok = run(args, sizes, Path(folder), database, telegram, llm)
            finally:
                database.drop()
    finally:
        llm.stop()
        telegram.stop()
    sys.exit(0 if ok else 1)


def run(
    args: argparse.Namespace,
    sizes: list[int],
    folder: Path,
    database: Database,
    telegram: FakeTelegram,
    llm: FakeLLM,
) -> bool:
    extra = {"REDIS_URL": REDIS_URL} if database.is_mysql else {}
    if args.concurrency is not None:
        extra["WORKER_CONCURRENCY"] = str(args.concurrency)
    app = BurstApp(
        folder, database, telegram_base=telegram.base_url, llm_base=llm.base_url, extra=extra
    )
    print(
        f"burst benchmark: {','.join(map(str, sizes))} chats, {args.workers} worker processes "
        f"(manage.py {' '.join(WORKER_COMMAND)}), LLM {args.llm_delay:g} s per answer, "
        f"{args.connections} connections; {database.label}"
        f"{', Redis ' + REDIS_URL if database.is_mysql else ''}; {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    started = time.perf_counter()
    account = app.set_up(SLUG, catalog=True)
    seconds = time.perf_counter() - started
    print(f"set-up (migrate, tenant, demo catalog, Telegram bot): {seconds:.1f} s")

    warm_chats = itertools.count(WARM_UP_CHATS)
    results = []
    for number, size in enumerate(sizes):
        chats = [BURST_CHATS + number * 1_000_000 + i for i in range(size)]
        try:
            burst = one_burst(args, app, account, telegram, llm, chats, warm_chats)
        except (RuntimeError, TimeoutError) as exc:
            print(f"\n{size} chats: FAILED: {exc}\n{app.logs()}")
            return False
        finally:
            app.stop()
        report(burst, args)
        results.append(burst)
        if not burst.ok or burst.worker_deaths:
            print(f"\n{app.logs()}")

    print("\nsummary:")
    print("  chats | posts acknowledged | first reply | every chat answered | p50 | p90 | 0/1/2+")
    for burst in results:
        print(
            f"  {burst.chats:5d} | {burst.post_seconds:8.2f} s | "
            f"{_s(burst.first_reply)} | {_s(burst.last_reply)} | "
            f"{percentile(burst.latencies, 50) if burst.latencies else 0:.2f} s | "
            f"{percentile(burst.latencies, 90) if burst.latencies else 0:.2f} s | "
            f"{burst.per_chat['0']}/{burst.per_chat['1']}/{burst.per_chat['2+']}"
        )
    ok = all(burst.ok for burst in results)
    print(f"\nexactly one reply per chat: {'PASS' if ok else 'FAIL'}")
    return ok


def _s(value: float | None) -> str:
    return f"{value:8.2f} s" if value is not None else "   never"


def one_burst(
    args: argparse.Namespace,
    app: BurstApp,
    account: Account,
    telegram: FakeTelegram,
    llm: FakeLLM,
    chats: list[int],
    warm_chats: itertools.count[int],
) -> Burst:
    burst = Burst(chats=len(chats))
    known_ids = worker_ids(app.database)
    app.start_web()
    workers = [app.start_worker() for _ in range(args.workers)]

    started = time.perf_counter()
    for burst.warm_up_rounds in range(1, WARM_UP_ROUNDS + 1):
        # One chat at a time, a little apart: whichever worker polls first takes each.
        for _ in workers:
            asyncio.run(post_and_wait(app, account, telegram, [next(warm_chats)], workers))
            time.sleep(WARM_UP_GAP)
        if len(worker_ids(app.database) - known_ids) >= len(workers):
            break  # every worker has run a turn: its model is loaded
    else:
        print(
            f"  (after {WARM_UP_ROUNDS} warm-up rounds only "
            f"{len(worker_ids(app.database) - known_ids)} of {len(workers)} workers had "
            "claimed a task: the others start the burst cold)"
        )
    wait_idle(app, workers)
    burst.warm_up_seconds = time.perf_counter() - started

    llm_before = len(llm.requests)
    cpu_before = [cpu_seconds(w.pid) for w in workers]
    web_before = cpu_seconds(app.web.pid) if app.web is not None else 0.0
    posted = asyncio.run(
        post_updates(
            app.port,
            account,
            [(chat, chat_update(chat)) for chat in chats],
            connections=args.connections,
        )
    )
    first_post = min(record.sent for record in posted.values())
    burst.post_seconds = max(record.answered for record in posted.values()) - first_post
    burst.ack_ms = [(r.answered - r.sent) * 1000 for r in posted.values()]
    burst.not_stored = Counter(
        r.error or (f"HTTP {r.status}" if r.status != 200 else "redelivery")
        for r in posted.values()
        if not r.stored
    )

    deadline = time.monotonic() + args.timeout
    while answered(telegram, chats) < len(chats) and time.monotonic() < deadline:
        burst.worker_deaths = dead(workers)
        if len(burst.worker_deaths) == len(workers):
            break
        time.sleep(0.05)
    time.sleep(args.settle)

    replies = replies_per_chat(telegram, chats)
    firsts = {chat: min(times) for chat, times in replies.items() if times}
    if firsts:
        burst.first_reply = min(firsts.values()) - first_post
    if len(firsts) == len(chats):
        burst.last_reply = max(firsts.values()) - first_post
    burst.latencies = [firsts[chat] - posted[chat].sent for chat in firsts]
    burst.per_chat = Counter(
        "0" if not times else "1" if len(times) == 1 else "2+" for times in replies.values()
    )

    states = chat_states(app.database)
    for chat in chats:
        state = states.get(chat)
        if state is None:
            continue
        burst.flagged += state.flagged
        burst.not_sent.update({k: v for k, v in state.replies.items() if k != "sent"})
        burst.modes.update(state.modes)
    wanted = {str(chat) for chat in chats}
    burst.typing_calls = sum(
        1 for call in telegram.calls("sendChatAction") if str(call.chat_id) in wanted
    )
    calls = sorted(request.at for request in llm.requests[llm_before:])
    burst.llm_calls = len(calls)
    burst.llm_peak = peak_in_flight(calls, args.llm_delay)
    burst.tasks = task_counts(app.database)
    burst.worker_deaths = dead(workers)
    burst.workers = [(w.pid, memory(w.pid)) for w in workers]
    burst.burst_cpu = [
        mem.cpu_seconds - before for (_, mem), before in zip(burst.workers, cpu_before, strict=True)
    ]
    if app.web is not None:
        burst.web = memory(app.web.pid)
        burst.web_cpu = burst.web.cpu_seconds - web_before
    return burst


async def post_and_wait(
    app: BurstApp,
    account: Account,
    telegram: FakeTelegram,
    chats: list[int],
    workers: list[WorkerProcess],
    *,
    timeout: float = 300,
) -> None:
    """Post one Update per chat and wait until every chat got a reply."""
    posted = await post_updates(
        app.port, account, [(chat, chat_update(chat)) for chat in chats], connections=len(chats)
    )
    if not all(record.stored for record in posted.values()):
        raise RuntimeError(f"warm-up posts not stored: {posted}")
    deadline = time.monotonic() + timeout
    while answered(telegram, chats) < len(chats):
        if dead(workers):
            raise RuntimeError(f"a worker died during the warm-up: {dead(workers)}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"warm-up chats not answered within {timeout:g} s")
        await asyncio.sleep(0.05)


def wait_idle(app: BurstApp, workers: list[WorkerProcess], timeout: float = 60) -> None:
    """Until no task is ready or running and no worker uses CPU (its start-up is over)."""
    deadline = time.monotonic() + timeout
    before = [cpu_seconds(w.pid) for w in workers]
    while time.monotonic() < deadline:
        time.sleep(1.0)
        now = [cpu_seconds(w.pid) for w in workers]
        busy = [b - a for a, b in zip(before, now, strict=True)]
        tasks = task_counts(app.database)
        if max(busy) < IDLE_CPU and not tasks["READY"] and not tasks["RUNNING"]:
            return
        before = now
    print(f"  (workers still busy after {timeout:g} s of waiting for idle; measuring anyway)")


def dead(workers: list[WorkerProcess]) -> list[str]:
    return [
        f"worker{w.number} (pid {w.pid}) exited {w.process.returncode}"
        for w in workers
        if w.process.poll() is not None
    ]


def peak_in_flight(arrivals: list[float], delay: float) -> int:
    """The most LLM calls in flight at once, each taking ``delay`` from its arrival."""
    peak, start = 0, 0
    for end, at in enumerate(arrivals):
        while arrivals[start] <= at - delay:
            start += 1
        peak = max(peak, end - start + 1)
    return peak


def report(burst: Burst, args: argparse.Namespace) -> None:
    print(
        f"\n{burst.chats} chats at once (warm-up: {burst.warm_up_rounds} round(s), "
        f"{burst.warm_up_seconds:.1f} s until every worker had run a turn and was idle):"
    )
    figures = [percentile(burst.ack_ms, q) for q in (50, 90, 99, 100)]
    print(
        f"  posts acknowledged      all {burst.chats} in {burst.post_seconds:.2f} s from the "
        "first post; per request p50 {:.0f}  p90 {:.0f}  p99 {:.0f}  max {:.0f} ms".format(*figures)
    )
    if burst.not_stored:
        print(f"  posts not stored        {dict(burst.not_stored)}")
    print(f"  first reply             {_s(burst.first_reply).strip()} after the first post")
    print(
        f"  every chat answered     {_s(burst.last_reply).strip()} after the first post "
        "(the wall time)"
        + (
            f"; target <= 3 s: {'met' if burst.last_reply <= 3 else 'NOT met'}"
            if burst.chats == 200 and burst.last_reply is not None
            else ""
        )
    )
    if burst.latencies:
        print(
            "  per-chat latency        p50 {:.2f}  p90 {:.2f}  p99 {:.2f}  max {:.2f}  "
            "mean {:.2f} s (its post -> its reply at the fake Telegram)".format(
                *(percentile(burst.latencies, q) for q in (50, 90, 99, 100)),
                statistics.fmean(burst.latencies),
            )
        )
    print(
        f"  replies per chat        0: {burst.per_chat['0']}   1: {burst.per_chat['1']}   "
        f"2+: {burst.per_chat['2+']}   ({args.settle:g} s after the last reply)"
    )
    print(
        f"  database                {burst.flagged} conversations flagged, replies not sent: "
        f"{dict(burst.not_sent) or 0}, replies by mode: {dict(burst.modes)}, task rows "
        f"(whole run): {dict(burst.tasks)}"
    )
    print(
        f"  LLM                     {burst.llm_calls} calls, at most {burst.llm_peak} in "
        f"flight at once ({args.llm_delay:g} s each)"
    )
    print(f"  typing indicators       {burst.typing_calls} sendChatAction calls")
    for (pid, mem), cpu in zip(burst.workers, burst.burst_cpu, strict=True):
        print(
            f"  worker pid {pid:<7d}      VmRSS {mem.rss_kb / 1024:6.0f} MiB   VmHWM "
            f"{mem.hwm_kb / 1024:6.0f} MiB   {mem.threads} threads   CPU {cpu:.1f} s in the "
            f"burst ({mem.cpu_seconds:.1f} s since start)"
            + (f"   children {mem.children}" if mem.children else "")
        )
    print(
        f"  web (Daphne)            VmRSS {burst.web.rss_kb / 1024:6.0f} MiB   VmHWM "
        f"{burst.web.hwm_kb / 1024:6.0f} MiB   CPU {burst.web_cpu:.1f} s in the burst"
    )
    replies = burst.per_chat["1"] + burst.per_chat["2+"]
    if replies:
        print(
            f"  CPU per reply           workers {sum(burst.burst_cpu) / replies * 1000:.0f} ms, "
            f"web {burst.web_cpu / replies * 1000:.0f} ms (process CPU time, not wall)"
        )
    for death in burst.worker_deaths:
        print(f"  DIED                    {death}")
    print(f"  exactly one reply per chat: {'PASS' if burst.ok else 'FAIL'}")


if __name__ == "__main__":
    main()
