"""Outbound webhooks: events per second delivered by the worker processes to a CRM receiver
that answers in 100 ms, and proof that every event arrived signed, none lost.

Real processes on a throwaway folder, configured like production (``DEBUG=0``, no
in-process worker; ``WEBHOOK_ALLOW_PRIVATE_URLS=1`` only because the receiver listens on
127.0.0.1), set up by the operator commands (``migrate``, ``create_tenant``,
``add_webhook … --event contact.created``):

1. ``--events`` contacts are created through crm's services in one ``manage.py shell``
   process (``contact_upsert_from_crm``, as the CRM API does), with no worker running:
   each commit publishes ``contact.created``, whose subscriber stores the delivery and its
   task. The time this takes is printed (events stored per second, one process).
2. ``--workers`` worker processes (``manage.py worker``, ``WORKER_CONCURRENCY``
   ``--concurrency``) start and drain the queue. The receiver (tests/fakes/webhook_receiver.py,
   a threaded server in this process) verifies each signature as a CRM would and answers
   200 after ``--delay`` seconds. Measured: from the first to the last event received
   (the delivery rate), and from the workers' start (includes their start-up).
3. Checks: every event id received, each verified; duplicates (at least once allows them,
   none are expected here); the database's deliveries all ``succeeded``, one attempt each.

``--db mariadb`` creates (and drops) the database ``bench_webhooks`` on 127.0.0.1:3306.
Run: ``make bench-webhook-delivery`` (``ARGS="--db mariadb --events 3000"``).
Exit code 1 when an event was lost or a signature did not verify.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from tests.burst import BurstApp, Database, cpu_seconds
from tests.fakes.webhook_receiver import WebhookReceiver

MARIADB_URL = "mysql://root@127.0.0.1:3306/bench_webhooks"
SLUG = "webhook-bench"

PUBLISH = """
import time
from crm.audit import Actor
from crm.models import Platform
from crm.services import contact_upsert_from_crm
from tenants.models import Tenant
from tenants.scoping import tenant_scope

tenant = Tenant.objects.get(slug={slug!r})
actor = Actor.integration("webhook bench")
started = time.perf_counter()
with tenant_scope(tenant):
    for n in range({events}):
        contact_upsert_from_crm(
            tenant=tenant, channel=Platform.API, actor=actor,
            crm_contact_id=f"B-{{n}}", full_name=f"Cliente {{n}}", company="Aguas del Valle",
        )
print(f"@@published {{time.perf_counter() - started:.3f}}")
"""


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "mariadb"), default="sqlite")
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--delay", type=float, default=0.1, help="receiver's answer time (s)")
    parser.add_argument("--concurrency", type=int, default=None, help="WORKER_CONCURRENCY")
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args()

    receiver = WebhookReceiver(delay=args.delay).start()
    try:
        with tempfile.TemporaryDirectory(prefix="webhook-bench-") as folder:
            database = (
                Database(MARIADB_URL) if args.db == "mariadb" else Database.sqlite(Path(folder))
            )
            database.create()
            try:
                ok = run(args, Path(folder), database, receiver)
            finally:
                database.drop()
    finally:
        receiver.stop()
    sys.exit(0 if ok else 1)


def run(
    args: argparse.Namespace, folder: Path, database: Database, receiver: WebhookReceiver
) -> bool:
    extra = {"WEBHOOK_ALLOW_PRIVATE_URLS": "1", "LLM_API_KEY": "", "LOG_LEVEL": "WARNING"}
    if args.concurrency is not None:
        extra["WORKER_CONCURRENCY"] = str(args.concurrency)
    app = BurstApp(
        folder,
        database,
        telegram_base="http://127.0.0.1:9",
        llm_base="http://127.0.0.1:9/v1",
        extra=extra,
    )
    print(
        f"webhook delivery benchmark: {args.events} events, {args.workers} worker processes "
        f"(WORKER_CONCURRENCY {args.concurrency or 'default'}), receiver answers in "
        f"{args.delay * 1000:.0f} ms; {database.label}; {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, load average {load()}"
    )
    _, _, endpoint = app.run_commands(
        ["migrate", "--noinput", "--verbosity", "0"],
        ["create_tenant", SLUG, "--name", "Webhook bench", "--json"],
        ["add_webhook", SLUG, receiver.url("/hooks"), "--event", "contact.created", "--json"],
    )
    assert endpoint is not None
    receiver.secrets["/hooks"] = str(endpoint["secret"])

    script = PUBLISH.format(slug=SLUG, events=args.events)
    output = app.manage("shell", "-c", script, timeout=args.timeout)
    published = float(output.split("@@published ", 1)[1].split()[0])
    queued = database.scalar(
        "SELECT COUNT(*) FROM integrations_webhookdelivery WHERE status = 'pending'"
    )
    print(
        f"published: {args.events} events in {published:.1f} s "
        f"({args.events / published:.0f}/s, one process), {queued} deliveries queued"
    )

    started = time.time()
    for _ in range(args.workers):
        app.start_worker()
    try:
        receiver.wait_for(lambda got: len(got) > 0, timeout=args.timeout)
        cpu_from, counted_from = (
            sum(cpu_seconds(w.pid) for w in app.workers),
            len(receiver.received),
        )
        done = receiver.wait_for(
            lambda got: len({r.event_id for r in got}) >= args.events, timeout=args.timeout
        )
        finished = time.time()
        cpu = sum(cpu_seconds(w.pid) for w in app.workers) - cpu_from
        counted = len(receiver.received) - counted_from
        time.sleep(1.0)  # anything sent twice shows up now
    finally:
        app.stop()
    received = list(receiver.received)
    ids = Counter(r.event_id for r in received)
    unverified = sum(1 for r in received if not r.verified)
    first = min((r.at for r in received), default=started)
    last = max((r.at for r in received), default=started)
    statuses = dict(
        database.query("SELECT status, COUNT(*) FROM integrations_webhookdelivery GROUP BY status")
    )
    attempts = database.scalar(
        "SELECT COALESCE(SUM(attempts), 0) FROM integrations_webhookdelivery"
    )

    span = max(last - first, 1e-9)
    print(f"workers started → first event received: {first - started:.2f} s")
    print(
        f"delivered: {len(ids)} of {args.events} events in {span:.2f} s "
        f"(first to last received): {len(ids) / span:.1f} events/s"
    )
    print(
        f"from the workers' start: {finished - started:.2f} s "
        f"({len(ids) / max(finished - started, 1e-9):.1f} events/s, start-up included)"
    )
    print(
        f"worker CPU while delivering: {cpu:.1f} s for {counted} events, "
        f"{cpu / max(counted, 1) * 1000:.1f} ms per event (both processes)"
    )
    print(
        f"requests {len(received)}, duplicates {len(received) - len(ids)}, "
        f"unverified {unverified}; deliveries {statuses}, attempts {attempts}; "
        f"load average {load()}"
    )
    ok = done and len(ids) == args.events and unverified == 0
    if not ok:
        print(app.logs())
    print(f"every event delivered and verified: {'PASS' if ok else 'FAIL'}")
    return ok


if __name__ == "__main__":
    main()
