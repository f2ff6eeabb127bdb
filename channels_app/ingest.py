"""The acknowledgement path of the Telegram and WhatsApp webhooks, lean and batched.

A webhook verifies the request, stores raw events, and answers: nothing else. Two
pieces make that fast under many connections:

* :func:`webhook_app` is a plain ASGI route for ``POST /webhooks/<telegram|whatsapp>/<key>/``
  in front of Django: no session, auth, CSRF, messages or static-files middleware, no
  per-request thread. Everything else (WhatsApp's GET verification included) goes to
  Django. The Django views stay as a second door to the same code (tests, ``runserver``).
* :class:`GroupCommit` writes the events of concurrent requests in one transaction
  (group commit): while one batch commits, the next requests queue, and the next batch
  takes them all. Each request is answered only after the commit that holds its rows.
  The batches run on one database thread with one kept connection.

A request's write is a :class:`Write`: its messages as events (stored for the whole batch
with one query and one INSERT, the resolve tasks with one more INSERT) and a function for
anything else (WhatsApp's delivery statuses). If a batch fails, each of its writes is tried
alone, so one bad request fails alone.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DatabaseError, connection, transaction

from channels_app.inbox.events import Stored, inbound_events_store_many
from channels_app.inbox.store import Inbound
from channels_app.models import ChannelAccount
from channels_app.tasks import inbound_resolve_enqueue_many
from channels_app.webhooks import error_body, too_large_reason
from tenants.models import Tenant
from tenants.scoping import tenant_scope
from tenants.worker import connection_refresh

logger = logging.getLogger(__name__)

MAX_BATCH = 500  # requests per transaction


@dataclass
class Write:
    """What one request writes, in ``tenant``'s scope, inside the batch's transaction:
    its messages as events (``account`` and ``inbounds``: stored for the whole batch in
    one query and one INSERT, with one resolve task per new chat), then ``run(stored)``
    for anything else (in a savepoint). The write's result is ``run``'s, else the
    :class:`~channels_app.inbox.events.Stored`."""

    tenant: Tenant
    account: ChannelAccount | None = None
    inbounds: Sequence[Inbound] = ()
    run: Callable[[Stored | None], Any] | None = None


@dataclass
class Answer:
    """An HTTP answer of a webhook, for the lean route and the Django view alike."""

    status: int
    payload: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)

    def body(self) -> bytes:
        return json.dumps(self.payload, ensure_ascii=False).encode()


Commit = Callable[[Write], Awaitable[Any]]


def writes_run(writes: list[Write]) -> list[Any]:
    """Run the writes in one transaction; each result, or the exception it raised. When
    the batch as a whole fails (a database error, or a value the driver cannot send), each
    write is tried alone, so one bad write fails alone and stores nothing."""
    connection_refresh()  # the server may have dropped the connection kept since the last batch
    try:
        with transaction.atomic():
            return _batch(writes)
    except Exception as exc:
        logger.exception("a batch of %d webhook write(s) failed", len(writes))
        if len(writes) == 1:
            if isinstance(exc, DatabaseError):
                connection.close()
            raise
    return [_alone(write) for write in writes]


def _alone(write: Write) -> Any:
    try:
        [result] = writes_run([write])
    except Exception as exc:
        return exc
    return result


def _batch(writes: list[Write]) -> list[Any]:
    stored: list[Stored | None] = [None] * len(writes)
    by_tenant: dict[int, list[tuple[int, ChannelAccount]]] = {}
    for number, write in enumerate(writes):
        if write.account is not None:
            by_tenant.setdefault(write.tenant.pk, []).append((number, write.account))
    chats: list[tuple[int, int, str]] = []
    for entries in by_tenant.values():
        with tenant_scope(writes[entries[0][0]].tenant):
            requests = [(account, writes[n].inbounds) for n, account in entries]
            tenant_stored = inbound_events_store_many(requests)
            for (number, account), result in zip(entries, tenant_stored, strict=True):
                stored[number] = result
                chats += [(account.tenant_id, account.pk, a) for a in result.addresses]
    inbound_resolve_enqueue_many(list(dict.fromkeys(chats)))
    results: list[Any] = []
    for write, events in zip(writes, stored, strict=True):
        if write.run is None:
            results.append(events)
            continue
        with transaction.atomic(), tenant_scope(write.tenant):
            results.append(write.run(events))
    return results


async def commit_now(write: Write) -> Any:
    """One request's write in its own transaction (the Django views)."""
    [result] = await sync_to_async(writes_run)([write])
    if isinstance(result, BaseException):
        raise result
    return result


class GroupCommit:
    """Writes of concurrent requests, one transaction per batch, in arrival order."""

    def __init__(self, *, max_batch: int = MAX_BATCH) -> None:
        self.max_batch = max_batch
        self._waiting: list[tuple[Write, asyncio.Future[Any]]] = []
        self._draining = False
        self.batches = 0

    async def __call__(self, write: Write) -> Any:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting.append((write, future))
        if not self._draining:
            self._draining = True
            asyncio.get_running_loop().create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._waiting:
                batch = self._waiting[: self.max_batch]
                del self._waiting[: self.max_batch]
                try:
                    results = await sync_to_async(writes_run)([write for write, _ in batch])
                except Exception as exc:
                    logger.exception("webhook batch of %d failed", len(batch))
                    results = [exc] * len(batch)
                self.batches += 1
                for (_, future), result in zip(batch, results, strict=True):
                    if future.done():
                        continue
                    if isinstance(result, BaseException):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
        finally:
            self._draining = False


_committers: dict[asyncio.AbstractEventLoop, GroupCommit] = {}


def group_commit() -> GroupCommit:
    """The group committer of the running event loop (one per server process)."""
    loop = asyncio.get_running_loop()
    committer = _committers.get(loop)
    if committer is None:
        for old in [old for old in _committers if old.is_closed()]:
            del _committers[old]
        committer = _committers[loop] = GroupCommit()
    return committer


# The lean ASGI route ----------------------------------------------------------------------

ROUTE = re.compile(r"^/webhooks/(telegram|whatsapp)/([^/]{1,64})/$")
Receiver = Callable[..., Awaitable[Answer]]


def _receivers() -> dict[str, Receiver]:
    from channels_app.telegram.webhook import telegram_receive
    from channels_app.whatsapp.webhook import whatsapp_receive

    return {"telegram": telegram_receive, "whatsapp": whatsapp_receive}


def webhook_app(django: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    """ASGI app: webhook POSTs handled here, everything else passed to ``django``."""
    receivers = _receivers()

    async def app(scope: dict[str, Any], receive: Callable, send: Callable) -> None:
        match = ROUTE.match(scope.get("path", "")) if scope["type"] == "http" else None
        if match is None or scope.get("method") != "POST":
            await django(scope, receive, send)
            return
        kind, key = match.groups()
        headers = {
            name.decode("latin-1").lower(): value.decode("latin-1")
            for name, value in scope["headers"]
        }
        body = await _read_body(headers, receive)
        if body is False:
            return  # the client went away
        try:
            answer = await receivers[kind](
                key=key, headers=headers, body=body, commit=group_commit()
            )
        except Exception:
            logger.exception("%s webhook failed", kind)
            answer = error_answer(500, "internal error: try again")
        await _respond(send, answer)

    return app


async def _read_body(headers: Mapping[str, str], receive: Callable) -> bytes | bool | None:
    """The body; None when it is larger than ``WEBHOOK_MAX_BYTES`` (declared or sent);
    False when the client disconnected."""
    limit = settings.WEBHOOK_MAX_BYTES
    try:
        declared = int(headers.get("content-length") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return False
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _respond(send: Callable, answer: Answer) -> None:
    body = answer.body()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *((k.lower().encode(), v.encode()) for k, v in answer.headers.items()),
    ]
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def error_answer(status: int, message: str, **extra: Any) -> Answer:
    """An error in the inbound edges' one format (``channels_app.webhooks.error_body``)."""
    return Answer(status, error_body(message, **extra))


def too_large() -> Answer:
    return error_answer(413, too_large_reason())
