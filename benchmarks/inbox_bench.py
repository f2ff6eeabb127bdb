"""The conversations inbox at size: how long a rep waits for the list, what a live notice
costs the socket, and what the inbox's event adds to storing a message.

A throwaway database (a new SQLite file, or ``--db mariadb``: the database ``bench_inbox``
on 127.0.0.1:3306, created and dropped) with one tenant, one rep, ``--conversations``
conversations of ``--messages`` messages each (half the customers', some flagged, a read
mark on every third for the rep). Measured, each ``--runs`` times:

1. the list as the rep opens it (``GET /admin/crm/conversation/``, 100 rows with the
   unread counts and last messages; the Django test client, the whole admin stack):
   p50 / p99 and the SQL statements per request;
2. the inbox socket's reload per notice (``desk.selectors.inbox_item``): p50 / p99;
3. storing a message (``crm.services.message_add`` in its transaction) with the inbox's
   subscriber forwarding ``message.created`` to the tenant's group (in-memory channel
   layer) and without it: mean per message.

Run: ``python -m benchmarks.inbox_bench`` (``--db mariadb --conversations 20000``).
"""

from __future__ import annotations

import argparse
import os
import platform
import secrets
import statistics
import tempfile
import time
from pathlib import Path

MARIADB_URL = "mysql://root@127.0.0.1:3306/bench_inbox"


def setup(workdir: Path, db: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings_test"
    os.environ["DATABASE_URL"] = (
        MARIADB_URL if db == "mariadb" else f"sqlite:///{workdir / 'bench.sqlite3'}"
    )
    if db == "mariadb":
        import MySQLdb

        connection = MySQLdb.connect(host="127.0.0.1", user="root", port=3306)
        connection.cursor().execute("DROP DATABASE IF EXISTS bench_inbox")
        connection.cursor().execute("CREATE DATABASE bench_inbox CHARACTER SET utf8mb4")
        connection.close()
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.DEBUG = False
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]  # the test client
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    call_command("migrate", verbosity=0)


def drop(db: str) -> None:
    if db != "mariadb":
        return
    from django.db import connections

    connections.close_all()
    import MySQLdb

    connection = MySQLdb.connect(host="127.0.0.1", user="root", port=3306)
    connection.cursor().execute("DROP DATABASE IF EXISTS bench_inbox")
    connection.close()


def populate(conversations: int, messages: int):
    """The tenant, its rep and the conversations. Messages are bulk-inserted: a benchmark
    fixture, not a path of the product (which stores them through crm.services)."""
    from datetime import timedelta

    from django.utils import timezone

    from crm.models import Contact, Conversation, Message
    from desk.models import ConversationReadMark
    from tenants.models import Membership
    from tenants.scoping import tenant_scope
    from tenants.services import member_ensure, tenant_ensure

    tenant, _ = tenant_ensure(slug="inbox-bench", name="Inbox bench")
    membership, _ = member_ensure(
        tenant=tenant,
        email="rep@bench.example",
        role=Membership.Role.SALES_REP,
        password=secrets.token_urlsafe(),
    )
    rep = membership.user
    now = timezone.now()
    with tenant_scope(tenant):
        contacts = Contact.objects.bulk_create(
            Contact(tenant=tenant, platform="widget", platform_user_id=f"v{n}", full_name="")
            for n in range(conversations)
        )
        rows = Conversation.objects.bulk_create(
            Conversation(
                tenant=tenant,
                contact=contact,
                channel="widget",
                last_activity_at=now - timedelta(minutes=n),
                needs_attention=n % 10 == 0,
                attention_reason="fallback answer" if n % 10 == 0 else "",
            )
            for n, contact in enumerate(contacts)
        )
        batch: list[Message] = []
        for n, conversation in enumerate(rows):
            for m in range(messages):
                batch.append(
                    Message(
                        tenant=tenant,
                        conversation=conversation,
                        role="user" if m % 2 == 0 else "assistant",
                        content=f"Mensaje {m} de la conversación {n}: necesito un medidor de pH",
                        delivery_status="received" if m % 2 == 0 else "sent",
                    )
                )
            if len(batch) > 5000:
                Message.objects.bulk_create(batch)
                batch = []
        Message.objects.bulk_create(batch)
        ConversationReadMark.objects.bulk_create(
            ConversationReadMark(
                tenant=tenant, conversation=c, user=rep, last_read_at=now - timedelta(hours=1)
            )
            for c in rows[::3]
        )
    return tenant, rep, rows


def timed(runs: int, call) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return times


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "mariadb"), default="sqlite")
    parser.add_argument("--conversations", type=int, default=5000)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="inbox-bench-") as folder:
        setup(Path(folder), args.db)
        try:
            run(args)
        finally:
            drop(args.db)


def run(args: argparse.Namespace) -> None:
    from django.db import connection, transaction
    from django.test import Client
    from django.urls import reverse

    from crm import events
    from crm.models import Message
    from crm.services import message_add
    from desk.inbox import inbox_event_forward
    from desk.selectors import inbox_item
    from tenants.scoping import tenant_scope

    started = time.perf_counter()
    tenant, rep, rows = populate(args.conversations, args.messages)
    print(
        f"{args.db}: {args.conversations} conversations x {args.messages} messages, "
        f"built in {time.perf_counter() - started:.1f} s; "
        f"{platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}"
    )

    client = Client()
    client.force_login(rep)
    url = reverse("admin:crm_conversation_changelist")
    first = client.get(url)
    assert first.status_code == 200, (first.status_code, first.get("Location"))
    statements: list[str] = []

    def count(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        client.get(url)
    page = timed(args.runs, lambda: client.get(url))
    print(
        f"list (100 rows): p50 {p(page, 50):.1f} ms, p99 {p(page, 99):.1f} ms, "
        f"{len(statements)} SQL statements"
    )

    target = rows[len(rows) // 2]
    item = timed(
        args.runs * 10,
        lambda: inbox_item(tenant=tenant, conversation_id=target.pk, user=rep),
    )
    print(f"socket reload per notice: p50 {p(item, 50):.2f} ms, p99 {p(item, 99):.2f} ms")

    def store() -> None:
        with tenant_scope(tenant), transaction.atomic():
            message_add(conversation=target, role=Message.Role.USER, content="¿Hola?")

    subscribed = any(handler is inbox_event_forward for _, handler in events._subscribers)
    assert subscribed, "desk.apps subscribes the inbox to crm's events"
    with_notice = statistics.mean(timed(args.runs * 10, store))
    saved = list(events._subscribers)
    events._subscribers[:] = [e for e in saved if e[1] is not inbox_event_forward]
    try:
        without = statistics.mean(timed(args.runs * 10, store))
    finally:
        events._subscribers[:] = saved
    print(
        f"message_add: {with_notice:.2f} ms with the inbox notice, {without:.2f} ms without "
        f"(+{with_notice - without:.2f} ms)"
    )


if __name__ == "__main__":
    main()
