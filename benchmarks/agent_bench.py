"""The agent's own cost per turn, and many conversations in flight at once.

1. Overhead: 200 turns against an OpenAI-compatible server on 127.0.0.1 that
   answers at once, awaited one after the other on one event loop (as a worker
   process runs them). Each turn's wall time minus the time spent inside the LLM
   calls (the SDK's HTTP round trips) is what the agent itself costs: loading
   the conversation, retrieval over the catalog, prompt building, tools and the
   commit. The process CPU time of each turn is printed too: it moves less than
   wall time when other processes share the machine (it includes the fake
   server, which runs in this process, ≈ 1 ms a turn). Measured for plain turns
   whose messages repeat (8 customer needs, so search caches answer after the
   first 8), plain turns whose every message is new (no cache helps), and turns
   whose first step calls ``search_catalog``. Target: p50 under 30 ms.
2. Concurrency: 200 conversations answered at once by one event loop against a
   server that takes 1 s per answer, with repeated and with distinct messages.
   Wall time should approach 1 s, not 200 s; the process CPU time is the floor
   once the LLM waits overlap.

Run: ``make bench-agent`` (or ``.venv/bin/python -m benchmarks.agent_bench``).
``--loop-per-turn`` runs each overhead turn on a new event loop instead, as this
benchmark did before 2026-12-04 (each turn then also builds a new SDK client).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.harness import import_file, machine, new_tenant, percentile, setup_django

if TYPE_CHECKING:
    from tenants.models import Tenant
    from tests.fakes.openai_server import FakeLLM


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--latency", type=float, default=1.0, help="server seconds per answer")
    parser.add_argument("--products", type=int, default=2000)
    parser.add_argument("--loop-per-turn", action="store_true", help="the old overhead method")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="agent-bench-") as folder:
        setup_django(Path(folder))
        run(args)


def run(args: argparse.Namespace) -> None:
    import logging

    from django.conf import settings

    from benchmarks.catalog_data import generate, to_json
    from tests.fakes.openai_server import Action, FakeLLM

    logging.getLogger("agent").setLevel(logging.WARNING)  # one line per turn otherwise
    tenant = new_tenant("agent-bench")
    summary, seconds = import_file(
        tenant=tenant, data=to_json(generate(args.products)), filename="catalog.json"
    )
    print(f"machine: {machine()}")
    print(f"catalog: {summary.created} products imported in {seconds:.1f} s")

    instant = FakeLLM(default=lambda body: Action("text", content="Con gusto le ayudo.")).start()
    _use(settings, instant)
    per_turn = args.loop_per_turn
    overhead(tenant, instant, args.turns, with_tool=False, distinct=False, per_turn=per_turn)
    overhead(tenant, instant, args.turns, with_tool=False, distinct=True, per_turn=per_turn)
    overhead(tenant, instant, args.turns, with_tool=True, distinct=False, per_turn=per_turn)
    instant.stop()

    slow = FakeLLM(
        default=lambda body: Action("text", content="Con gusto.", delay=args.latency)
    ).start()
    _use(settings, slow)
    concurrency(tenant, slow, args.conversations, args.latency, distinct=False)
    concurrency(tenant, slow, args.conversations, args.latency, distinct=True)
    slow.stop()


def _use(settings, server) -> None:  # type: ignore[no-untyped-def]
    settings.LLM_BASE_URL = server.base_url
    settings.LLM_API_KEY = "bench-key"
    settings.LLM_TIMEOUT = 30.0
    settings.LLM_TURN_TIMEOUT = 60.0


NEEDS = [
    "Hola, necesito medir turbidez en agua potable hasta 1000 NTU",
    "Busco un medidor de pH de mesa para laboratorio",
    "¿Tienen sondas de oxígeno disuelto para acuicultura?",
    "I need a pressure transmitter 0-16 bar with 4-20 mA output",
    "Necesito reactivo DPD para cloro libre",
    "¿Cuánto cuesta un conductímetro portátil?",
    "Quiero un sensor de nivel ultrasónico para un tanque de 5 m",
    "Busco solución tampón pH 7",
]


def need(i: int, *, distinct: bool) -> str:
    """The ``i``-th customer message: one of 8 needs, or made unique (no cache can answer it)."""
    text = NEEDS[i % len(NEEDS)]
    return f"{text}, pedido {i + 1} de la planta {i * 7 % 97 + 1}" if distinct else text


def _load() -> str:
    return "load average {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())


def _conversations(tenant, count: int, prefix: str):  # type: ignore[no-untyped-def]
    from crm.models import Platform
    from crm.services import contact_get_or_create_for_platform, conversation_open
    from tenants.scoping import tenant_scope

    conversations = []
    with tenant_scope(tenant):
        for i in range(count):
            contact, _ = contact_get_or_create_for_platform(
                tenant=tenant, platform=Platform.TELEGRAM, platform_user_id=f"{prefix}-{i}"
            )
            conversations.append(
                conversation_open(tenant=tenant, contact=contact, channel=Platform.TELEGRAM)
            )
    return conversations


def _say(tenant, conversation, text: str) -> None:  # type: ignore[no-untyped-def]
    from crm.models import Message
    from crm.services import message_add
    from tenants.scoping import tenant_scope

    with tenant_scope(tenant):
        message_add(conversation=conversation, role=Message.Role.USER, content=text)


def overhead(
    tenant: Tenant, server: FakeLLM, turns: int, *, with_tool: bool, distinct: bool, per_turn: bool
) -> None:
    from asgiref.sync import async_to_sync, sync_to_async

    from agent.services import respond
    from tests.fakes.openai_server import Action

    label = "turn with a search_catalog call" if with_tool else "plain turn"
    label += ", every message new" if distinct else ", 8 needs repeated"
    prefix = f"{'tool' if with_tool else 'plain'}-{'new' if distinct else 'same'}"
    conversations = _conversations(tenant, 20, prefix)
    own: list[float] = []
    total: list[float] = []
    llm: list[float] = []
    cpu: list[float] = []

    async def one(i: int) -> None:
        conversation = conversations[i % len(conversations)]
        await sync_to_async(_say)(tenant, conversation, need(i, distinct=distinct))
        if with_tool:
            query = f"medidor de pH {i}" if distinct else "medidor de pH"
            server.script.append(
                Action("tools", calls=[("search_catalog", f'{{"query": "{query}"}}')])
            )
        started, cpu_started = time.perf_counter(), time.process_time()
        result = await respond(conversation)
        elapsed = time.perf_counter() - started
        cpu_used = time.process_time() - cpu_started
        assert result is not None and result.mode == "llm", result
        in_llm = sum(step.seconds for step in result.steps)
        if i >= 10:  # the first 10 warm up (model load, caches)
            total.append(elapsed * 1000)
            llm.append(in_llm * 1000)
            own.append((elapsed - in_llm) * 1000)
            cpu.append(cpu_used * 1000)

    async def all_turns() -> None:
        for i in range(turns + 10):
            await one(i)

    if per_turn:
        for i in range(turns + 10):
            async_to_sync(one)(i)
    else:
        async_to_sync(all_turns)()
    print(
        f"\n{label}: {turns} turns{' (a new event loop each)' if per_turn else ''}, "
        f"history growing to {turns // 20 * 2} messages; {_load()}\n"
        f"  agent overhead  p50 {statistics.median(own):6.1f} ms   p90 "
        f"{percentile(own, 90):6.1f} ms   p99 {percentile(own, 99):6.1f} ms   "
        f"mean {statistics.fmean(own):6.1f} ms\n"
        f"  process CPU     p50 {statistics.median(cpu):6.1f} ms   p90 "
        f"{percentile(cpu, 90):6.1f} ms   mean {statistics.fmean(cpu):6.1f} ms\n"
        f"  LLM round trip  p50 {statistics.median(llm):6.1f} ms   (local server, instant)\n"
        f"  whole turn      p50 {statistics.median(total):6.1f} ms   p99 "
        f"{percentile(total, 99):6.1f} ms"
    )


def concurrency(
    tenant: Tenant, server: FakeLLM, count: int, latency: float, *, distinct: bool
) -> None:
    from asgiref.sync import async_to_sync

    from agent.services import respond

    requests_before = len(server.requests)
    conversations = _conversations(tenant, count, f"many-{'new' if distinct else 'same'}")
    for i, conversation in enumerate(conversations):
        # Distinct from the overhead part's messages too: nothing is cached for them.
        _say(
            tenant,
            conversation,
            need(i + 100_000, distinct=True) if distinct else need(i, distinct=False),
        )

    async def all_at_once() -> list:
        return await asyncio.gather(*(respond(c) for c in conversations))

    started, cpu_started = time.perf_counter(), time.process_time()
    results = async_to_sync(all_at_once)()
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    answered = sum(1 for r in results if r is not None and r.mode == "llm")
    kind = "every message new" if distinct else "8 needs repeated"
    print(
        f"\n{count} conversations at once ({kind}), "
        f"server {latency:g} s per answer; {_load()}:\n"
        f"  wall time {wall:.2f} s for {answered} LLM answers "
        f"({len(server.requests) - requests_before} requests; serial would take "
        f"{count * latency:.0f} s)\n"
        f"  process CPU {cpu:.2f} s ({cpu / count * 1000:.1f} ms per turn)"
    )


if __name__ == "__main__":
    main()
