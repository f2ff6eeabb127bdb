"""The agent's own cost per turn, and many conversations in flight at once.

1. Overhead: 200 turns against an OpenAI-compatible server on 127.0.0.1 that
   answers at once. Each turn's wall time minus the time spent inside the LLM
   calls (the SDK's HTTP round trips) is what the agent itself costs: loading
   the conversation, retrieval over the catalog, prompt building, tools and the
   commit. Measured for plain turns and for turns whose first step calls
   ``search_catalog``. Target: p50 under 30 ms.
2. Concurrency: 200 conversations answered at once by one event loop against a
   server that takes 1 s per answer. Wall time should approach 1 s, not 200 s.

Run: ``make bench-agent`` (or ``.venv/bin/python -m benchmarks.agent_bench``).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.harness import import_file, machine, new_tenant, percentile, setup_django


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--latency", type=float, default=1.0, help="server seconds per answer")
    parser.add_argument("--products", type=int, default=2000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="agent-bench-") as folder:
        setup_django(Path(folder))
        run(args)


def run(args: argparse.Namespace) -> None:
    from django.conf import settings

    from benchmarks.catalog_data import generate, to_json
    from tests.fakes.openai_server import Action, FakeLLM

    tenant = new_tenant("agent-bench")
    summary, seconds = import_file(
        tenant=tenant, data=to_json(generate(args.products)), filename="catalog.json"
    )
    print(f"machine: {machine()}")
    print(f"catalog: {summary.created} products imported in {seconds:.1f} s")

    instant = FakeLLM(default=lambda body: Action("text", content="Con gusto le ayudo.")).start()
    _use(settings, instant)
    overhead(tenant, instant, args.turns, with_tool=False)
    overhead(tenant, instant, args.turns, with_tool=True)
    instant.stop()

    slow = FakeLLM(
        default=lambda body: Action("text", content="Con gusto.", delay=args.latency)
    ).start()
    _use(settings, slow)
    concurrency(tenant, slow, args.conversations, args.latency)
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


def overhead(tenant, server, turns: int, *, with_tool: bool) -> None:  # type: ignore[no-untyped-def]
    from asgiref.sync import async_to_sync

    from agent.services import respond
    from tests.fakes.openai_server import Action

    label = "turn with a search_catalog call" if with_tool else "plain turn"
    conversations = _conversations(tenant, 20, "tool" if with_tool else "plain")
    own: list[float] = []
    total: list[float] = []
    llm: list[float] = []
    for i in range(turns + 10):  # the first 10 warm up (model load, caches)
        conversation = conversations[i % len(conversations)]
        _say(tenant, conversation, NEEDS[i % len(NEEDS)])
        if with_tool:
            server.script.append(
                Action("tools", calls=[("search_catalog", '{"query": "medidor de pH"}')])
            )
        started = time.perf_counter()
        result = async_to_sync(respond)(conversation)
        elapsed = time.perf_counter() - started
        assert result is not None and result.mode == "llm", result
        in_llm = sum(step.seconds for step in result.steps)
        if i >= 10:
            total.append(elapsed * 1000)
            llm.append(in_llm * 1000)
            own.append((elapsed - in_llm) * 1000)
    print(
        f"\n{label}: {turns} turns, history growing to {turns // 20 * 2} messages\n"
        f"  agent overhead  p50 {statistics.median(own):6.1f} ms   p99 "
        f"{percentile(own, 99):6.1f} ms   mean {statistics.fmean(own):6.1f} ms\n"
        f"  LLM round trip  p50 {statistics.median(llm):6.1f} ms   (local server, instant)\n"
        f"  whole turn      p50 {statistics.median(total):6.1f} ms   p99 "
        f"{percentile(total, 99):6.1f} ms"
    )


def concurrency(tenant, server, count: int, latency: float) -> None:  # type: ignore[no-untyped-def]
    from asgiref.sync import async_to_sync

    from agent.services import respond

    conversations = _conversations(tenant, count, "many")
    for i, conversation in enumerate(conversations):
        _say(tenant, conversation, NEEDS[i % len(NEEDS)])

    async def all_at_once() -> list:
        return await asyncio.gather(*(respond(c) for c in conversations))

    started = time.perf_counter()
    results = async_to_sync(all_at_once)()
    wall = time.perf_counter() - started
    answered = sum(1 for r in results if r is not None and r.mode == "llm")
    print(
        f"\n{count} conversations at once, server {latency:g} s per answer:\n"
        f"  wall time {wall:.2f} s for {answered} LLM answers "
        f"({len(server.requests)} requests; serial would take {count * latency:.0f} s)"
    )


if __name__ == "__main__":
    main()
