"""Soak: minutes of mixed Telegram, WhatsApp, widget and CRM API traffic while the fake LLM
fails some calls and a worker is SIGKILLed every ``--kill-every`` seconds; then proof, from
the fake platforms' records and the database, that nothing was lost or answered twice, and
each worker's resident memory over its life.

The app runs as in production (tests/burst.py's ``BurstApp``: ``DEBUG=0``, an LLM key,
no in-process worker): Daphne serving ``config.asgi`` (the webhooks, the widget's
WebSocket and the CRM API; widget and API turns run in this web process), ``--workers``
``manage.py worker`` processes (resolve the webhooks' events, answer Telegram and WhatsApp
conversations) and ``manage.py inbox_recover --loop <--recover-every>`` (the compose
``recovery`` service, 30 s there). ``REDIS_URL`` is Redis database ``--redis-db`` (the
channel layer between processes). ``INBOX_LEASE_SECONDS`` is ``--lease`` (5 s here, 30 s
by default), ``LLM_TIMEOUT`` is ``--llm-timeout``; everything else is the product's default
(``INBOX_RECOVER_AFTER`` 30 s, ``LLM_MAX_RETRIES`` 3, ``WORKER_CONCURRENCY`` 50,
``WIDGET_RATE_LIMIT`` 10/60). Set-up: ``migrate``, ``create_tenant``, ``import_catalog``
(the demo catalog: turns retrieve products as in production) and ``add_channel`` for
Telegram, WhatsApp, the widget and the CRM API.

Fakes in this process, on threaded servers: an OpenAI-compatible LLM answering each call
after 0.3-1.0 s with a text that carries a unique number (so a reply delivered twice is
recognisable), except ``--llm-fail`` of the calls: most answer 500, a fifth hang past
``LLM_TIMEOUT`` (the SDK retries both; a turn whose every attempt fails gets the catalog
fallback, still exactly one reply); a Bot API and a Cloud API that record every message
they deliver with the id they answered.

After a warm-up (one message per channel and worker, answered: the web process and the
workers load the embedding model on their first turn), the load, for ``--minutes``:
``--rate`` customer messages per second in all (Poisson arrivals), spread over
``--customers`` customers per channel (Telegram private chats, WhatsApp numbers, widget
visitors on one WebSocket each, CRM contacts), each picked at random, so every customer
writes several times; ``--follow-up`` of the messages get a
second one from the same customer 0.3-1.5 s later (while the first turn runs); and
``--redeliver`` of the Telegram and WhatsApp posts are posted again 0.5-5 s later (the
platform retrying). A webhook post that is not answered 200 is retried as the platforms
do; a CRM API 202 is collected by sending the same request again. Every ``--kill-every``
seconds the most recently started worker is SIGKILLed and a new one started (so the
first worker lives through the whole run: its memory is the long curve; each replacement
is a new life). At the end the load stops, the kills stop, and the run waits (at most
``--drain`` seconds) until no webhook event is unresolved, no customer message unhandled
and no reply pending or sending.

What is checked (exit code 1 on any loss or duplicate):

* Telegram and WhatsApp: every message a webhook acknowledged is stored once (one raw
  event, one message row); a redelivery is answered as one and stores nothing.
* Every customer message is handled (``handled_at``), or its conversation is flagged.
* Every handled message has exactly one answer: the bot reply stored by the turn that
  took it (the first reply created at or after its ``handled_at``; a turn takes every
  message waiting when it starts, so one reply may answer several). A reply that answers
  no message is an extra turn: a duplicate.
* Delivery, from the fakes' records: each Telegram / WhatsApp send is matched to a stored
  reply by the id the platform answered (``delivery_status`` sent, ``external_id``), else by
  its text in that chat. A duplicate is a stored reply that reached the chat twice, or a
  send that matches no stored reply. A reply whose send was in flight when its worker was
  killed is, by the product's rule, not resent but marked failed ("delivery uncertain")
  with its conversation flagged: counted apart, as delivered or not by the fake's record,
  not as a loss. A reply marked sent that the platform never got, or left pending, is lost.
* Widget: every message acknowledged, and its answer's ``message`` frame (the reply's
  ``widget-out`` id) received once on the visitor's socket. When the server closes a
  socket the visitor does what widget.js does: reconnects with its token after 1 s
  (doubling), and sends again, with the same id, what was neither acknowledged nor in the
  history. A reply offered while its socket was closed must be in the history the visitor
  is shown (each visitor reconnects once more at the end to read it): counted apart, the
  product's documented "stored and offered". A frame missing while the socket was open is
  lost.
* CRM API: every request ends in 200 with a reply (a 202 is asked again), and that reply
  is the answer of the message sent. A reply that the turn which took the message did not
  store (another turn's) is counted with the duplicates: that reply went to two messages,
  and the message's own answer never came back to the CRM.
* Memory: VmRSS of each worker (and of Daphne and the recovery loop) every 10 s; per life
  first / at half its life / last / max and one figure a minute. A life of 150 s or more
  is flat when its second half grew less than 5 % (or 25 MiB); the first half holds the
  warm-up (the embedding model loads on a process's first turn).

Run: ``make bench-soak`` (or ``.venv/bin/python -m benchmarks.soak_bench --minutes 10
--kill-every 120 --workers 2 --db sqlite``). ``--db mariadb`` uses (and drops) the database
``bench_soak`` on the MariaDB at 127.0.0.1:3306. The run's folder (database, logs) is kept
when a check fails, or with ``--keep``.
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
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Origin

from benchmarks.harness import percentile
from tests.burst import (
    BOT_ID,
    SECRET_HEADER,
    TEXTS,
    Account,
    BurstApp,
    Database,
    chat_update,
    cpu_seconds,
    memory,
    task_counts,
)
from tests.fakes.openai_server import Action, FakeLLM
from tests.fakes.telegram_server import FakeTelegram
from tests.fakes.whatsapp_server import FakeWhatsApp, contact, notification, signed
from tests.fakes.whatsapp_server import text as wa_text
from tests.live import BIN, ROOT

SLUG = "soak-bench"
MARIADB_URL = "mysql://root@127.0.0.1:3306/bench_soak"
ORIGIN = "https://shop.soak.example"
PHONE_NUMBER_ID = "106540352242922"
WA_ACCESS_TOKEN = "EAAsoakBenchAccessToken"  # noqa: S105 (the fake's)
WA_APP_SECRET = "soak-bench-app-secret"  # noqa: S105 (the fake's)
CHANNELS = ("telegram", "whatsapp", "widget", "api")
TELEGRAM_CHATS = 810_000_000  # chat i is TELEGRAM_CHATS + i
WA_NUMBERS = 573_009_000_000  # wa_id i is WA_NUMBERS + i (Colombian numbers: Spanish)
REPLY = "Tenemos el turbidímetro portátil TB-300 y el medidor de pH PH-200."
SAMPLE_EVERY = 10.0  # seconds between memory samples
JUDGED_AFTER = 150.0  # seconds: shorter lives are not judged
FLAT_SHARE, FLAT_MIB = 0.05, 25.0  # growth allowed over a life's second half
UNCERTAIN = "delivery uncertain"  # how recovery marks a send caught by a crash
POST_ATTEMPTS = 8  # a platform retries a webhook post that was not answered 200
API_ATTEMPTS = 30  # CRM API requests for one message (202: ask again)


# The fakes --------------------------------------------------------------------------------


class SoakLLM:
    """The fake LLM's answers: a unique text after 0.3-1.0 s; ``fail`` of the calls fail
    (four in five with a 500, one in five hanging ``hang`` seconds, past ``LLM_TIMEOUT``)."""

    def __init__(self, *, fail: float, hang: float, seed: int) -> None:
        self.fail, self.hang = fail, hang
        self.random = random.Random(seed)
        self.numbers = itertools.count(1)
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __call__(self, body: dict[str, Any]) -> Action:
        with self._lock:
            number, draw = next(self.numbers), self.random.random()
            delay = self.random.uniform(0.3, 1.0)
            kind = (
                "hang"
                if draw < self.fail / 5
                else "500"
                if draw < self.fail
                else "stream"
                if body.get("stream")
                else "text"
            )
            self.calls[kind] += 1
        if kind == "hang":
            return Action("hang", seconds=self.hang)
        if kind == "500":
            return Action("status", status=500, delay=delay)
        return Action("text", content=f"{REPLY} [respuesta {number}]", delay=delay)


class RecordingTelegram(FakeTelegram):
    """The fake Bot API, also recording each delivered message with the id it answered."""

    def __init__(self) -> None:
        super().__init__()
        self.delivered: list[Send] = []

    def _m_sendMessage(self, token: str, body: dict[str, Any]) -> tuple[int, dict]:
        status, payload = super()._m_sendMessage(token, body)
        if status == 200:
            chat, message_id = str(body["chat_id"]), payload["result"]["message_id"]
            with self._lock:
                self.delivered.append(
                    Send(chat, f"tg-out:{BOT_ID}:{chat}:{message_id}", str(body["text"]))
                )
        return status, payload


def whatsapp_sends(whatsapp: FakeWhatsApp) -> list[Send]:
    """The messages the fake Cloud API delivered (read receipts and errors left out)."""
    with whatsapp._lock:
        answered = list(whatsapp.answered)
    return [
        Send(
            str(received.body.get("to", "")),
            f"wa:{payload['messages'][0]['id']}",
            received.text,
            received.at,
        )
        for received, status, payload in answered
        if not received.is_read and status == 200
    ]


# What the customers did -------------------------------------------------------------------


@dataclass
class Send:
    """A reply as it reached a customer: the chat, the id the product stores for it, the
    text, when (``time.monotonic``)."""

    address: str
    external_id: str
    text: str
    at: float = field(default_factory=time.monotonic)


@dataclass
class Post:
    """One Telegram / WhatsApp message and every webhook post that carried it."""

    channel: str
    address: str
    external_id: str
    body: bytes
    headers: dict[str, str]
    path: str
    sent: float = 0.0
    acked: bool = False
    new: int = 0  # answers that said "stored as new"
    recognised: int = 0  # answers that said "redelivery"
    redeliveries: int = 0
    failures: Counter[str] = field(default_factory=Counter)


@dataclass
class Visitor:
    """A widget visitor and its one WebSocket."""

    number: int
    socket: ClientConnection | None = None
    visitor_id: str = ""
    token: str = ""
    sent: dict[str, float] = field(default_factory=dict)  # client id -> when
    texts: dict[str, str] = field(default_factory=dict)  # client id -> text
    acked: set[str] = field(default_factory=set)
    resent: int = 0  # messages sent again after a reconnect (not acknowledged, not stored)
    replies: list[Send] = field(default_factory=list)  # "message" frames
    errors: list[dict[str, Any]] = field(default_factory=list)  # "error" frames
    closes: Counter[str] = field(default_factory=Counter)  # the server closed the socket
    reconnect_failures: int = 0
    opened: list[tuple[float, float]] = field(default_factory=list)  # (epoch) open, closed
    history: Counter[str] = field(default_factory=Counter)  # bot texts in the last "ready"
    reader: asyncio.Task[None] | None = None

    def open_at(self, epoch: float, margin: float = 2.0) -> bool:
        """Whether the socket was open (and stayed so for ``margin`` s) at ``epoch``."""
        return any(start <= epoch and epoch + margin <= end for start, end in self.opened)

    def can_send(self, limit: int, window: float) -> bool:
        now = time.monotonic()
        return self.socket is not None and (
            sum(1 for at in self.sent.values() if now - at < window) < limit - 1
        )


@dataclass
class ApiCall:
    """One CRM API message and the requests that carried it."""

    contact: str
    external_id: str
    sent: float = 0.0
    statuses: list[int | str] = field(default_factory=list)
    message_id: int | None = None
    reply_id: int | None = None
    answered: float = 0.0


@dataclass
class Life:
    """One process's life: its memory samples (seconds into the life, VmRSS KiB)."""

    name: str
    pid: int
    started: float
    ended: float | None = None
    end: str = "running"
    samples: list[tuple[float, int]] = field(default_factory=list)
    cpu: float = 0.0

    @property
    def seconds(self) -> float:
        return (self.ended or time.monotonic()) - self.started


# The load ---------------------------------------------------------------------------------


class Soak:
    """The customers, the kills and the memory samples of one run."""

    def __init__(
        self,
        args: argparse.Namespace,
        app: BurstApp,
        telegram_account: Account,
        whatsapp_path: str,
        widget_key: str,
        api_key: str,
    ) -> None:
        self.args = args
        self.app = app
        self.random = random.Random(args.seed)
        self.telegram_account = telegram_account
        self.whatsapp_path = whatsapp_path
        self.widget_key = widget_key
        self.api_key = api_key
        self.posts: dict[str, Post] = {}
        self.visitors = [Visitor(number) for number in range(args.customers)]
        self.api_calls: dict[str, ApiCall] = {}
        self.message_ids: dict[str, itertools.count[int]] = defaultdict(lambda: itertools.count(1))
        self.numbers = itertools.count(1)
        self.written: Counter[str] = Counter()
        self.follow_ups = 0
        self.tasks: set[asyncio.Task[Any]] = set()
        self.lives: dict[int, Life] = {}
        self.kills: list[tuple[float, str]] = []
        self.started = time.monotonic()
        self.stopping = asyncio.Event()  # the load is over: no more kills
        self.sampling_done = asyncio.Event()
        self.closing = False  # this client closes the sockets: no reconnecting
        self.client = httpx.AsyncClient(
            base_url=app.base_url,
            timeout=httpx.Timeout(180.0, connect=30.0),
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
        )

    def spawn(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def text(self, channel: str) -> str:
        number = next(self.numbers)
        return f"{TEXTS[number % len(TEXTS)]} ({channel} #{number})"

    # Telegram and WhatsApp ---------------------------------------------------------------

    async def telegram(self, customer: int) -> None:
        chat = TELEGRAM_CHATS + customer
        message_id = next(self.message_ids[f"tg{chat}"])
        body = chat_update(chat, message_id=message_id, text=self.text("telegram"))
        post = Post(
            "telegram",
            str(chat),
            f"tg:{BOT_ID}:{chat}:{message_id}",
            body,
            {"Content-Type": "application/json", SECRET_HEADER: self.telegram_account.secret},
            self.telegram_account.path,
        )
        await self.deliver(post)

    async def whatsapp(self, customer: int) -> None:
        wa_id = str(WA_NUMBERS + customer)
        item = wa_text(wa_id, self.text("whatsapp"))
        payload = notification(
            PHONE_NUMBER_ID, contacts=[contact(wa_id, f"Cliente {customer}")], messages=[item]
        )
        raw, headers = signed(payload, WA_APP_SECRET)
        post = Post(
            "whatsapp",
            wa_id,
            f"wa:{item['id']}",
            raw,
            {"Content-Type": "application/json", **headers},
            self.whatsapp_path,
        )
        await self.deliver(post)

    async def deliver(self, post: Post) -> None:
        """Post until answered 200, as the platform does; sometimes post it again later."""
        self.posts[post.external_id] = post
        post.sent = time.monotonic()
        await self.post_once(post)
        if self.random.random() < self.args.redeliver:
            await asyncio.sleep(self.random.uniform(0.5, 5.0))
            post.redeliveries += 1
            await self.post_once(post)

    async def post_once(self, post: Post) -> None:
        for attempt in range(POST_ATTEMPTS):
            if attempt:
                await asyncio.sleep(min(2**attempt, 30))
            try:
                response = await self.client.post(
                    post.path, content=post.body, headers=post.headers
                )
            except httpx.HTTPError as exc:
                post.failures[type(exc).__name__] += 1
                continue
            if response.status_code != 200:
                post.failures[f"HTTP {response.status_code}"] += 1
                continue
            answer = response.json()
            post.acked = True
            if post.channel == "telegram":
                new = answer.get("duplicate") is False
            else:
                new = answer.get("stored") == 1
            post.new += new
            post.recognised += not new
            return

    # The widget --------------------------------------------------------------------------

    async def connect(self, visitor: Visitor) -> None:
        """Open the visitor's socket (with its token after the first time) and read it."""
        query = f"?token={visitor.token}" if visitor.token else ""
        url = f"ws://127.0.0.1:{self.app.port}/ws/widget/{self.widget_key}/{query}"
        socket = await ws_connect(url, origin=Origin(ORIGIN), open_timeout=60)
        ready = json.loads(await asyncio.wait_for(socket.recv(), 60))
        if ready.get("type") != "ready":
            raise RuntimeError(f"widget: expected a ready frame, got {ready}")
        visitor.token = ready["token"]
        visitor.visitor_id = visitor.token.partition(":")[0]
        history = ready.get("history", [])
        visitor.history = Counter(item["text"] for item in history if item["role"] == "assistant")
        visitor.opened.append((time.time(), float("inf")))
        visitor.socket = socket
        visitor.reader = asyncio.get_running_loop().create_task(self.read(visitor, socket))
        # As widget.js: a message in the history is stored (its ack was lost with the old
        # socket); one that is not is sent again, with the same id.
        stored = {str(item["id"]) for item in history if item.get("id")}
        visitor.acked |= stored & set(visitor.sent)
        for client_id in [c for c in visitor.sent if c not in visitor.acked]:
            if self.closing:
                break
            visitor.resent += 1
            frame = {"type": "message", "text": visitor.texts[client_id], "id": client_id}
            await socket.send(json.dumps(frame))

    async def read(self, visitor: Visitor, socket: ClientConnection) -> None:
        with contextlib.suppress(ConnectionClosed):  # counted below
            async for raw in socket:
                frame = json.loads(raw)
                kind = frame.get("type")
                if kind == "ack":
                    visitor.acked.add(str(frame["id"]))
                elif kind == "message":
                    visitor.replies.append(
                        Send(visitor.visitor_id, f"widget-out:{frame['id']}", frame["text"])
                    )
                elif kind == "error":
                    visitor.errors.append(frame)
        if visitor.socket is not socket or self.closing:
            return  # closed by this client
        visitor.opened[-1] = (visitor.opened[-1][0], time.time())
        visitor.closes[f"{socket.close_code} {socket.close_reason}".strip()] += 1
        visitor.socket = None
        for attempt in range(5):  # as widget.js: after 1 s (doubling), with its token
            await asyncio.sleep(2**attempt + self.random.random() / 2)
            try:
                await self.connect(visitor)
                return
            except Exception:
                visitor.reconnect_failures += 1

    async def widget(self, visitor: Visitor) -> None:
        """Send a message; with the socket closed, it waits for the reconnect (widget.js's
        outbox)."""
        client_id = f"m{next(self.numbers)}"
        visitor.sent[client_id] = time.monotonic()
        visitor.texts[client_id] = self.text("widget")
        frame = {"type": "message", "text": visitor.texts[client_id], "id": client_id}
        if visitor.socket is not None:
            with contextlib.suppress(ConnectionClosed):  # sent again after the reconnect
                await visitor.socket.send(json.dumps(frame))

    # The CRM API -------------------------------------------------------------------------

    async def api(self, customer: int) -> None:
        crm_id = f"SOAK-CRM-{customer:04d}"
        call = ApiCall(crm_id, f"soak-{next(self.numbers)}", time.monotonic())
        self.api_calls[call.external_id] = call
        payload = {
            "channel": "api",
            "contact": {"crm_contact_id": crm_id, "full_name": f"Contacto {customer}"},
            "text": self.text("api"),
            "external_id": call.external_id,
        }
        headers = {"Authorization": f"Bearer {self.api_key}"}
        for attempt in range(API_ATTEMPTS):
            if attempt:
                await asyncio.sleep(2.0)
            try:
                response = await self.client.post("/api/v1/messages", json=payload, headers=headers)
            except httpx.HTTPError as exc:
                call.statuses.append(type(exc).__name__)
                continue
            call.statuses.append(response.status_code)
            if response.status_code not in (200, 202):
                continue
            answer = response.json()
            call.message_id = answer.get("message_id")
            if response.status_code == 200:
                reply = answer.get("reply")
                call.reply_id = reply["id"] if reply else None
                call.answered = time.monotonic()
                return

    # Driving -----------------------------------------------------------------------------

    async def write(self, channel: str, customer: int) -> None:
        self.written[channel] += 1
        if channel == "telegram":
            await self.telegram(customer)
        elif channel == "whatsapp":
            await self.whatsapp(customer)
        elif channel == "widget":
            await self.widget(self.visitors[customer])
        else:
            await self.api(customer)

    async def write_later(self, channel: str, customer: int, delay: float) -> None:
        await asyncio.sleep(delay)
        await self.write(channel, customer)

    def pick(self) -> tuple[str, int] | None:
        channel = self.random.choice(CHANNELS)
        if channel != "widget":
            return channel, self.random.randrange(self.args.customers)
        limit, window = self.args.widget_limit
        ready = [v.number for v in self.visitors if v.can_send(limit, window)]
        return ("widget", self.random.choice(ready)) if ready else None

    async def load(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while True:
            await asyncio.sleep(self.random.expovariate(self.args.rate))
            if time.monotonic() >= end:
                return
            picked = self.pick()
            if picked is None:
                continue
            channel, customer = picked
            self.spawn(self.write(channel, customer))
            if self.random.random() < self.args.follow_up:
                self.follow_ups += 1
                self.spawn(self.write_later(channel, customer, self.random.uniform(0.3, 1.5)))

    async def killer(self) -> None:
        """Every ``--kill-every`` s: SIGKILL the most recently started worker, start another."""
        while not self.stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), self.args.kill_every)
            if self.stopping.is_set():
                return
            living = [w for w in self.app.workers if w.process.poll() is None]
            if not living:
                continue
            victim = living[-1]
            await asyncio.to_thread(self.app.kill, victim)
            self.end_life(victim.pid, "SIGKILL")
            replacement = self.app.start_worker()
            self.begin_life(f"worker{replacement.number}", replacement.pid)
            at = time.monotonic() - self.started
            self.kills.append((at, f"worker{victim.number} (pid {victim.pid})"))
            print(
                f"  {at:6.0f} s  SIGKILL worker{victim.number} (pid {victim.pid}); started "
                f"worker{replacement.number} (pid {replacement.pid})",
                flush=True,
            )

    def begin_life(self, name: str, pid: int) -> None:
        self.lives[pid] = Life(name, pid, time.monotonic())

    def end_life(self, pid: int, how: str) -> None:
        life = self.lives.get(pid)
        if life is not None and life.ended is None:
            life.ended, life.end = time.monotonic(), how

    async def sampler(self) -> None:
        while not self.sampling_done.is_set():
            for life in self.lives.values():
                if life.ended is None:
                    found = memory(life.pid)
                    if found.rss_kb:
                        life.samples.append((time.monotonic() - life.started, found.rss_kb))
                        life.cpu = found.cpu_seconds
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.sampling_done.wait(), SAMPLE_EVERY)

    async def run(self, status: Callable[[], str]) -> float:
        """The load, the kills, the samples; then the drain. Returns the drain's seconds."""
        for visitor in self.visitors:
            await self.connect(visitor)
        sampler = asyncio.get_running_loop().create_task(self.sampler())
        await self.warm_up()
        killer = asyncio.get_running_loop().create_task(self.killer())
        reporter = asyncio.get_running_loop().create_task(self.report_progress(status))
        self.started = time.monotonic()
        await self.load(self.args.minutes * 60)
        self.stopping.set()
        await killer
        print(
            f"  {time.monotonic() - self.started:6.0f} s  load stopped; draining "
            f"(at most {self.args.drain:g} s)",
            flush=True,
        )
        drain_started = time.monotonic()
        deadline = drain_started + self.args.drain
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=max(1.0, deadline - time.monotonic()))
        while time.monotonic() < deadline:
            if await asyncio.to_thread(settled, self.app.database) and self.widget_done():
                break
            await asyncio.sleep(2.0)
        await asyncio.sleep(self.args.settle)
        drained = time.monotonic() - drain_started
        reporter.cancel()
        self.sampling_done.set()
        await sampler
        self.closing = True
        for visitor in self.visitors:
            await self.close(visitor)
            # The visitor comes back: the history it is shown is what it has, in the end.
            with contextlib.suppress(Exception):
                await self.connect(visitor)
                await self.close(visitor)
        for task in list(self.tasks):
            task.cancel()
        await self.client.aclose()
        return drained

    async def close(self, visitor: Visitor) -> None:
        socket, visitor.socket = visitor.socket, None
        if socket is not None:
            if visitor.opened:
                visitor.opened[-1] = (visitor.opened[-1][0], time.time())
            await socket.close()
        if visitor.reader is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(visitor.reader, 5)

    async def warm_up(self, timeout: float = 300.0) -> None:
        """One message per channel and worker, answered, before the clock starts: the web
        process and the workers load the embedding model on their first turn."""
        started = time.monotonic()
        writes = [self.telegram(n) for n in range(self.args.workers)]
        writes += [self.whatsapp(n) for n in range(self.args.workers)]
        writes += [self.widget(self.visitors[0]), self.api(0)]
        await asyncio.gather(*writes)
        while time.monotonic() - started < timeout:
            if await asyncio.to_thread(settled, self.app.database) and self.widget_done():
                break
            await asyncio.sleep(1.0)
        print(f"warm-up: {len(writes)} messages answered in {time.monotonic() - started:.0f} s")

    def widget_done(self) -> bool:
        """Every widget message acked or refused (the answers are checked against the
        database)."""
        return all(
            set(v.sent) <= v.acked | {str(e.get("id")) for e in v.errors}
            for v in self.visitors
            if v.socket is not None
        )

    async def report_progress(self, status: Callable[[], str]) -> None:
        while True:
            await asyncio.sleep(60)
            line = await asyncio.to_thread(status)
            print(
                f"  {time.monotonic() - self.started:6.0f} s  written {sum(self.written.values())}"
                f" ({dict(self.written)}); {line}; load average "
                f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}",
                flush=True,
            )


def settled(database: Database) -> bool:
    """Nothing left to do: no event unresolved, no message unhandled, no reply unsent."""
    return not any(pending(database))


def pending(database: Database) -> tuple[int, int, int]:
    """Webhook events unresolved, customer messages unhandled, replies pending or sending."""
    events, waiting, unsent = database.query(
        "SELECT (SELECT COUNT(*) FROM channels_app_inboundevent WHERE processed_at IS NULL), "
        "(SELECT COUNT(*) FROM crm_message WHERE role = 'user' AND handled_at IS NULL), "
        "(SELECT COUNT(*) FROM crm_message WHERE role IN ('assistant', 'agent') "
        " AND delivery_status IN ('pending', 'sending'))"
    )[0]
    return int(events), int(waiting), int(unsent)


# What the database says -------------------------------------------------------------------


@dataclass
class Row:
    """A ``crm_message`` row."""

    id: int
    conversation: int
    role: str
    content: str
    external_id: str
    status: str
    error: str
    mode: str
    handled_at: datetime | None
    created_at: datetime


@dataclass
class Conversation:
    id: int
    channel: str  # the account kind of its route
    address: str  # chat id, wa_id, visitor id, CRM contact id
    flagged: bool
    reason: str
    status: str
    users: list[Row] = field(default_factory=list)
    replies: list[Row] = field(default_factory=list)


def _when(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return datetime.fromisoformat(str(value)).replace(tzinfo=None)


def conversations(database: Database) -> dict[int, Conversation]:
    found: dict[int, Conversation] = {}
    for cid, kind, address, flagged, reason, status in database.query(
        "SELECT c.id, a.kind, r.address, c.needs_attention, c.attention_reason, c.status "
        "FROM crm_conversation c "
        "JOIN channels_app_conversationroute r ON r.conversation_id = c.id "
        "JOIN channels_app_channelaccount a ON a.id = r.account_id"
    ):
        found[int(cid)] = Conversation(
            int(cid), str(kind), str(address), bool(flagged), str(reason or ""), str(status)
        )
    for row in database.query(
        "SELECT id, conversation_id, role, content, external_id, delivery_status, "
        "delivery_error, answer_mode, handled_at, created_at FROM crm_message ORDER BY id"
    ):
        message = Row(
            int(row[0]),
            int(row[1]),
            str(row[2]),
            str(row[3]),
            str(row[4] or ""),
            str(row[5]),
            str(row[6] or ""),
            str(row[7] or ""),
            _when(row[8]),
            _when(row[9]) or datetime.min,
        )
        conversation = found.get(message.conversation)
        if conversation is None:
            continue
        if message.role == "user":
            conversation.users.append(message)
        elif message.role == "assistant":
            conversation.replies.append(message)
    return found


def answers(conversation: Conversation) -> dict[int, Row | None]:
    """Each handled customer message's answer: the first bot reply created at or after its
    ``handled_at`` (the turn that took it stored it in the same transaction)."""
    replies = sorted(conversation.replies, key=lambda r: (r.created_at, r.id))
    found: dict[int, Row | None] = {}
    for message in conversation.users:
        if message.handled_at is None:
            continue
        found[message.id] = next((r for r in replies if r.created_at >= message.handled_at), None)
    return found


# The checks -------------------------------------------------------------------------------


Where = tuple[str, str, int | None]  # channel, chat (address), conversation id


@dataclass
class Finding:
    """One loss or duplicate (or a case of the documented rule), with what identifies it."""

    kind: str
    channel: str
    address: str
    conversation: int | None
    detail: str
    messages: list[int] = field(default_factory=list)


@dataclass
class Report:
    losses: list[Finding] = field(default_factory=list)
    duplicates: list[Finding] = field(default_factory=list)
    documented: list[Finding] = field(default_factory=list)  # uncertain sends, flagged
    figures: dict[str, Any] = field(default_factory=dict)
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    rows: dict[int, Row] = field(default_factory=dict)  # every stored message, for evidence

    def loss(self, kind: str, where: Where, detail: str, messages: Iterable[int] = ()) -> None:
        self.losses.append(Finding(kind, *where, detail, list(messages)))

    def duplicate(self, kind: str, where: Where, detail: str, messages: Iterable[int] = ()) -> None:
        self.duplicates.append(Finding(kind, *where, detail, list(messages)))

    def rule(self, kind: str, where: Where, detail: str, messages: Iterable[int] = ()) -> None:
        self.documented.append(Finding(kind, *where, detail, list(messages)))


def ledger_key(channel: str, external_id: str) -> str:
    """The client's key of a stored customer message: Telegram and WhatsApp ids as stored,
    the widget's ``w:<visitor>:<client id>``, the API's ``api:<external id>``."""
    if channel == "widget":
        _, _, visitor, client_id = external_id.split(":", 3)
        return f"w:{visitor}:{client_id}"
    if channel == "api":
        return "api:" + external_id.split(":", 2)[2]
    return external_id


def examine(soak: Soak, database: Database, sends: dict[str, list[Send]]) -> Report:
    report = Report()
    found = conversations(database)
    report.rows = {m.id: m for c in found.values() for m in (*c.users, *c.replies)}
    by_channel: dict[str, list[Conversation]] = defaultdict(list)
    for conversation in found.values():
        by_channel[conversation.channel].append(conversation)
    check_posts(report, soak, database, found)

    # When each customer message was written (the client's clock), by its stored id.
    posted_at: dict[str, float] = {p.external_id: p.sent for p in soak.posts.values()}
    for visitor in soak.visitors:
        for client_id, at in visitor.sent.items():
            posted_at[f"w:{visitor.visitor_id}:{client_id}"] = at
    for call in soak.api_calls.values():
        posted_at[f"api:{call.external_id}"] = call.sent
    api_calls = {c.message_id: c for c in soak.api_calls.values() if c.message_id}
    visitors = {v.visitor_id: v for v in soak.visitors}

    modes: Counter[str] = Counter()
    for channel in CHANNELS:
        chats = by_channel[channel]
        delivered, unmatched = attribute(sends.get(channel, []), chats)
        for send in unmatched:
            report.duplicate(
                "send matching no stored reply",
                (channel, send.address, None),
                f"{send.external_id} delivered {send.text[:80]!r}",
            )
        for conversation in chats:
            where: Where = (channel, conversation.address, conversation.id)
            taken = check_turns(report, conversation, where)
            for reply in conversation.replies:
                modes[reply.mode or "canned"] += 1
                took = taken.get(reply.id, [])
                if not took:
                    continue  # an extra turn, reported by check_turns
                if channel == "api":
                    check_api(report, reply, took, api_calls, where)
                    continue
                times = delivered.get(reply.id, [])
                visitor = visitors.get(conversation.address) if channel == "widget" else None
                check_delivery(report, conversation, reply, took, times, visitor)
                for message in took:
                    at = posted_at.get(ledger_key(channel, message.external_id))
                    if times and at is not None:
                        report.latencies[channel].append(times[0] - at)

    for visitor in soak.visitors:
        refused = {str(e.get("id")): str(e.get("code")) for e in visitor.errors if e.get("id")}
        for client_id in sorted(set(visitor.sent) - visitor.acked):
            where = ("widget", visitor.visitor_id, None)
            if client_id in refused:  # told so, not stored: the visitor sees the error
                report.rule(f"widget message refused ({refused[client_id]})", where, client_id)
            else:
                report.loss("widget message not acknowledged", where, f"client id {client_id}")
    for call in soak.api_calls.values():
        if call.reply_id is None:
            report.loss(
                "API message without a reply",
                ("api", call.contact, None),
                f"{call.external_id}: answers {call.statuses}",
                [call.message_id] if call.message_id else [],
            )

    report.figures["modes"] = modes
    report.figures["turns"] = sum(len(c.replies) for c in found.values())
    report.figures["overlapping"] = sum(overlapping(c) for c in found.values())
    report.figures["customer messages"] = Counter(
        {channel: sum(len(c.users) for c in by_channel[channel]) for channel in CHANNELS}
    )
    report.figures["customers answered"] = {
        channel: (
            len(
                {
                    c.address
                    for c in by_channel[channel]
                    if any(r.status == "sent" for r in c.replies)
                }
            ),
            len({c.address for c in by_channel[channel]}),
        )
        for channel in CHANNELS
    }
    report.figures["flagged"] = Counter(
        c.reason.split(":")[0].split("(")[0].strip() for c in found.values() if c.flagged
    )
    return report


def check_posts(
    report: Report, soak: Soak, database: Database, found: dict[int, Conversation]
) -> None:
    """Telegram and WhatsApp: every acknowledged message stored, once."""
    events = Counter(
        str(external_id)
        for (external_id,) in database.query("SELECT external_id FROM channels_app_inboundevent")
    )
    stored = Counter(m.external_id for c in found.values() for m in c.users if m.external_id)
    for post in soak.posts.values():
        where: Where = (post.channel, post.address, None)
        key = post.external_id
        if not post.acked:
            report.loss("post never acknowledged", where, f"{key}: {dict(post.failures)}")
        elif events[key] == 0 or stored[key] == 0:
            report.loss(
                "acknowledged, not stored",
                where,
                f"{key}: {events[key]} event(s), {stored[key]} message(s)",
            )
        if events[key] > 1 or stored[key] > 1 or post.new > 1:
            report.duplicate(
                "stored twice",
                where,
                f"{key}: {events[key]} event(s), {stored[key]} message(s), answered as new "
                f"{post.new} time(s)",
            )
    report.figures["posts"] = {
        channel: {
            "messages": len(posts),
            "acknowledged": sum(p.acked for p in posts),
            "redeliveries": sum(p.redeliveries for p in posts),
            "recognised": sum(p.recognised for p in posts),
            "post failures": sum(sum(p.failures.values()) for p in posts),
        }
        for channel in ("telegram", "whatsapp")
        for posts in [[p for p in soak.posts.values() if p.channel == channel]]
    }


def check_turns(report: Report, conversation: Conversation, where: Where) -> dict[int, list[Row]]:
    """Every customer message handled and answered by one stored reply; every reply the
    answer of some message. Reply id -> the messages it answers."""
    answer_of = answers(conversation)
    taken: dict[int, list[Row]] = defaultdict(list)
    for message in conversation.users:
        answer = answer_of.get(message.id)
        if message.handled_at is None:
            if conversation.flagged:
                report.rule("unhandled, conversation flagged", where, f"message {message.id}")
            else:
                report.loss("unhandled", where, f"message {message.id}", [message.id])
        elif answer is None:
            report.loss(
                "handled, no reply stored",
                where,
                f"message {message.id} (conversation {conversation.status})",
                [message.id],
            )
        else:
            taken[answer.id].append(message)
    for reply in conversation.replies:
        if not taken.get(reply.id):
            report.duplicate(
                "reply answering no message (an extra turn)",
                where,
                f"reply {reply.id} ({reply.mode}, {reply.status}): {reply.content[:60]!r}",
                [reply.id],
            )
    return taken


def overlapping(conversation: Conversation) -> int:
    """Customer messages written before the answer to the previous one was stored."""
    answer_of = answers(conversation)
    count, previous = 0, None
    for message in sorted(conversation.users, key=lambda m: (m.created_at, m.id)):
        if previous is not None and previous.created_at > message.created_at:
            count += 1
        previous = answer_of.get(message.id) or previous
    return count


def attribute(
    sends: list[Send], chats: list[Conversation]
) -> tuple[dict[int, list[float]], list[Send]]:
    """Which stored reply each delivered message was: by the id the platform answered, else
    by its text in that chat (a send whose answer was never recorded: its worker died).
    Reply id -> delivery times, and the sends that match no stored reply."""
    by_external = {r.external_id: r for c in chats for r in c.replies if r.external_id}
    by_chat: dict[str, list[Row]] = defaultdict(list)
    for conversation in chats:
        by_chat[conversation.address].extend(conversation.replies)
    times: dict[int, list[float]] = defaultdict(list)
    unrecorded: list[Send] = []
    for send in sends:
        reply = by_external.get(send.external_id)
        if reply is not None:
            times[reply.id].append(send.at)
        else:
            unrecorded.append(send)
    unmatched: list[Send] = []
    for send in unrecorded:
        candidates = [r for r in by_chat.get(send.address, []) if r.content == send.text]
        if not candidates:
            unmatched.append(send)
            continue
        # An uncertain send first, then a reply not delivered yet, then any.
        candidates.sort(key=lambda r: (not r.error.startswith(UNCERTAIN), bool(times[r.id]), r.id))
        times[candidates[0].id].append(send.at)
    return times, unmatched


def check_delivery(
    report: Report,
    conversation: Conversation,
    reply: Row,
    took: list[Row],
    times: list[float],
    visitor: Visitor | None = None,
) -> None:
    """A Telegram / WhatsApp / widget reply reached its customer once, or is a documented
    rule: a send in flight at a kill (marked failed, conversation flagged); a widget reply
    offered while the visitor's socket was closed (shown in the history on reconnect)."""
    where: Where = (conversation.channel, conversation.address, conversation.id)
    ids = [reply.id, *(m.id for m in took)]
    answering = f"reply {reply.id} answering message(s) {ids[1:]}"
    if len(times) > 1:
        report.duplicate(
            "reply delivered twice",
            where,
            f"{answering} ({reply.status}) delivered {len(times)} times",
            ids,
        )
    elif reply.status == "failed" and reply.error.startswith(UNCERTAIN):
        state = "delivered" if times else "not delivered"
        report.rule(f"uncertain send, {state}", where, f"{answering}: {state}", ids)
        if not conversation.flagged:
            report.loss("uncertain send, conversation not flagged", where, answering, ids)
    elif not times and visitor is not None:
        offered = reply.created_at.replace(tzinfo=UTC).timestamp()
        shown = visitor.history[reply.content] > 0
        later = f"{'in' if shown else 'NOT in'} the history shown on the last reconnect"
        if visitor.open_at(offered):
            report.loss(
                "widget frame dropped while the socket was open",
                where,
                f"{answering} ({reply.status}, offered {reply.created_at:%H:%M:%S.%f}); {later}",
                ids,
            )
        elif shown:
            report.rule("widget reply offered while the socket was closed, in the history",
                        where, answering, ids)  # fmt: skip
        else:
            report.loss("widget reply offered while the socket was closed, lost", where,
                        f"{answering}; {later}", ids)  # fmt: skip
    elif not times:
        error = f": {reply.error}" if reply.error else ""
        report.loss("reply never delivered", where, f"{answering} ({reply.status}{error})", ids)


def check_api(
    report: Report, reply: Row, took: list[Row], calls: dict[int, ApiCall], where: Where
) -> None:
    """The CRM API returned, for each message, the reply of the turn that took it."""
    for message in took:
        call = calls.get(message.id)
        if call is None or call.reply_id is None:
            continue  # reported with the calls
        if call.reply_id != reply.id:
            report.duplicate(
                "API answered with another turn's reply",
                where,
                f"{call.external_id} (message {message.id}) got reply {call.reply_id}; the turn "
                f"that took it stored reply {reply.id}",
                [message.id, reply.id, call.reply_id],
            )
        else:
            report.latencies["api"].append(call.answered - call.sent)


def widget_sends(soak: Soak) -> list[Send]:
    return [send for visitor in soak.visitors for send in visitor.replies]


# The report -------------------------------------------------------------------------------


def life_line(life: Life) -> tuple[str, bool | None]:
    """One life's memory: VmRSS first, at half its life, last and max, one figure a minute;
    flat (True) when its second half grew less than 5 % (or 25 MiB): a process loads the
    embedding model on its first turn, so its first half is its warm-up. None: the life
    was too short to judge."""
    if not life.samples:
        return f"{life.name:9} pid {life.pid:<7d} no samples", None
    rss = [kb / 1024 for _, kb in life.samples]
    length = life.samples[-1][0]
    half = next(mib for (at, _), mib in zip(life.samples, rss, strict=True) if at >= length / 2)
    minutes = [mib for (at, _), mib in zip(life.samples, rss, strict=True)
               if int(at // 60) != int((at - SAMPLE_EVERY) // 60)]  # fmt: skip
    text = (
        f"{life.name:9} pid {life.pid:<7d} {life.seconds:4.0f} s ({life.end:7}) VmRSS MiB "
        f"first {rss[0]:4.0f}  half-life {half:4.0f}  last {rss[-1]:4.0f}  max {max(rss):4.0f};"
        f" CPU {life.cpu:4.0f} s; "
    )
    series = "by minute " + " ".join(f"{mib:.0f}" for mib in minutes)
    if length < JUDGED_AFTER:
        return text + f"too short to judge ({series})", None
    growth = rss[-1] - half
    flat = growth <= max(FLAT_MIB, FLAT_SHARE * half)
    verdict = "flat" if flat else "GROWING"
    return text + f"second half {growth:+.0f} MiB: {verdict} ({series})", flat


def print_findings(
    title: str, findings: list[Finding], report: Report, logs: dict[str, str], limit: int
) -> None:
    """Each finding with its stored rows and the log lines about them (application logs,
    not access lines, within a few seconds of the rows)."""
    if not findings:
        return
    kinds = Counter(f.kind for f in findings)
    print(f"\n{title}: {len(findings)} ({', '.join(f'{k} {n}' for k, n in kinds.items())})")
    for finding in findings[:limit]:
        where = f" conversation {finding.conversation}" if finding.conversation else ""
        print(
            f"  - {finding.kind}: {finding.channel} chat {finding.address}{where}: {finding.detail}"
        )
        rows = [report.rows[mid] for mid in dict.fromkeys(finding.messages) if mid in report.rows]
        for row in sorted(rows, key=lambda r: r.id):
            handled = f" handled {row.handled_at:%H:%M:%S.%f}" if row.handled_at else ""
            print(
                f"      row {row.id} {row.role:9} created {row.created_at:%H:%M:%S.%f}{handled} "
                f"{row.status} {row.external_id or ''} {row.content[:52]!r}"
            )
        for line in evidence(finding, rows, logs)[:10]:
            print(f"      {line}")
    if len(findings) > limit:
        print(f"  … and {len(findings) - limit} more")


EVIDENCE_WINDOW = 5.0  # seconds around a finding's rows
LOG_TIME = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) ")


def evidence(finding: Finding, rows: list[Row], logs: dict[str, str]) -> list[str]:
    """The log lines naming the finding's messages, and those naming its conversation near
    its rows' times (the logs' clock is the database's: UTC)."""
    messages = re.compile("|".join(rf"message {mid}\b" for mid in finding.messages) or "$^")
    conversation = re.compile(rf"conversation[ =]{finding.conversation}\b")
    times = [r.created_at for r in rows] + [r.handled_at for r in rows if r.handled_at]
    found = []
    for name, text in logs.items():
        for line in text.splitlines():
            stamp = LOG_TIME.match(line)
            if stamp is None:
                continue
            if not messages.search(line):  # a message's own lines, whenever they came
                if not finding.conversation or not conversation.search(line):
                    continue
                at = datetime.fromisoformat(f"{stamp[1]}.{stamp[2]}")
                if all(abs((at - t).total_seconds()) > EVIDENCE_WINDOW for t in times):
                    continue
            found.append(f"{name}: {line.strip()[:200]}")
    return found


def log_counts(logs: dict[str, str]) -> Counter[str]:
    patterns = {
        "lease lost": "lease lost during a turn",
        "turn lost the race": "turn lost the race",
        "not delivered": "not delivered:",
        "fallback reply": "fallback reply for conversation",
        "Redis read timeouts": "Timeout reading from",
        "channel over capacity": "over capacity in group",
        "tracebacks": "Traceback (most recent call last)",
        "ERROR lines": " ERROR ",
    }
    return Counter(
        {
            label: sum(text.count(needle) for text in logs.values())
            for label, needle in patterns.items()
        }
    )


def print_report(
    args: argparse.Namespace,
    soak: Soak,
    report: Report,
    llm: SoakLLM,
    logs: dict[str, str],
    drained: float,
    database: Database,
) -> bool:
    print("\nsummary")
    written = soak.written
    print(
        f"  load               {sum(written.values())} customer messages written in "
        f"{args.minutes:g} min ({sum(written.values()) / (args.minutes * 60):.2f}/s): "
        + ", ".join(f"{c} {written[c]}" for c in CHANNELS)
        + f"; {soak.follow_ups} follow-ups 0.3-1.5 s after the previous message"
    )
    stored = report.figures["customer messages"]
    print(
        "  stored             customer messages (warm-up included) "
        + ", ".join(f"{c} {stored[c]}" for c in CHANNELS)
        + f"; {report.figures['overlapping']} arrived while the customer's previous turn ran"
    )
    for channel, figures in report.figures["posts"].items():
        print(
            f"  {channel:18} {figures['acknowledged']}/{figures['messages']} acknowledged, "
            f"{figures['redeliveries']} redeliveries posted, {figures['recognised']} answered "
            f"as redeliveries, {figures['post failures']} posts not answered 200 (retried)"
        )
    print(
        f"  turns              {report.figures['turns']} bot replies stored, by mode "
        f"{dict(report.figures['modes'])}"
    )
    calls = max(1, sum(llm.calls.values()))
    print(
        f"  LLM                {sum(llm.calls.values())} calls: "
        + ", ".join(f"{kind} {n}" for kind, n in sorted(llm.calls.items()))
        + f" (failure rate {(llm.calls['500'] + llm.calls['hang']) / calls:.1%})"
    )
    answered = report.figures["customers answered"]
    print(
        "  customers answered "
        + ", ".join(f"{c} {answered[c][0]}/{answered[c][1]}" for c in CHANNELS)
        + " (with at least one reply sent / that wrote)"
    )
    for channel in CHANNELS:
        values = report.latencies.get(channel, [])
        if values:
            print(
                f"  latency {channel:10} p50 {percentile(values, 50):5.1f}  p90 "
                f"{percentile(values, 90):5.1f}  p99 {percentile(values, 99):5.1f}  max "
                f"{max(values):5.1f} s  mean {statistics.fmean(values):4.1f} s (message posted"
                f" -> its answer delivered; {len(values)} messages)"
            )
    print(
        f"  kills              {len(soak.kills)}: "
        + ", ".join(f"{at:.0f} s {who}" for at, who in soak.kills)
    )
    closes: Counter[str] = Counter()
    for visitor in soak.visitors:
        closes.update(visitor.closes)
    print(
        f"  widget sockets     {len(soak.visitors)} visitors; closed by the server "
        f"{sum(closes.values())} times ({dict(closes) or 'never'}), reconnect failures "
        f"{sum(v.reconnect_failures for v in soak.visitors)}, messages sent again after a "
        f"reconnect {sum(v.resent for v in soak.visitors)}, error frames "
        f"{dict(Counter(e.get('code') for v in soak.visitors for e in v.errors)) or 0}"
    )
    api_statuses = Counter(str(s) for c in soak.api_calls.values() for s in c.statuses)
    print(f"  CRM API            {len(soak.api_calls)} messages, answers {dict(api_statuses)}")
    print(f"  flagged            {dict(report.figures['flagged']) or 0}")
    print(f"  logs               {dict(log_counts(logs))}")
    print(
        f"  drain              {drained:.0f} s; left {pending(database)} "
        "(events unresolved, messages unhandled, replies unsent); task rows "
        f"{dict(task_counts(database))}"
    )
    documented = Counter(f.kind for f in report.documented)
    print(f"  documented rules   {sum(documented.values())} {dict(documented) or ''}")
    print("\nmemory (VmRSS every 10 s, per process life)")
    verdicts: dict[str, list[bool]] = defaultdict(list)
    for life in soak.lives.values():
        line, verdict = life_line(life)
        print(f"  {line}")
        if verdict is not None:
            verdicts["workers" if life.name.startswith("worker") else life.name].append(verdict)
    judged = {name: "flat" if all(found) else "GROWING" for name, found in sorted(verdicts.items())}
    flat = "flat" if judged and all(v == "flat" for v in judged.values()) else "GROWING"
    memory_line = ", ".join(f"{name} {verdict}" for name, verdict in judged.items())
    print(f"  {memory_line or 'no life long enough to judge'}")
    print_findings("LOST", report.losses, report, logs, args.show)
    print_findings("DUPLICATED", report.duplicates, report, logs, args.show)
    print_findings("documented rules (not failures)", report.documented, report, logs, 5)
    ok = not report.losses and not report.duplicates
    print(
        f"\nlost messages: {len(report.losses)}, duplicate replies: {len(report.duplicates)}: "
        f"{'PASS' if ok else 'FAIL'}; memory "
        + (f"{flat} ({memory_line})" if judged else "not judged")
    )
    return ok


# The run ----------------------------------------------------------------------------------


def start_recovery(app: BurstApp, every: float) -> subprocess.Popen[bytes]:
    """``manage.py inbox_recover --loop`` as the compose ``recovery`` service runs it."""
    with (app.folder / "recovery.log").open("ab") as output:
        return subprocess.Popen(  # noqa: S603 (our interpreter, fixed arguments)
            [str(BIN / "python"), "manage.py", "inbox_recover", "--loop", f"{every:g}"],
            cwd=ROOT,
            env=app.env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def set_up(app: BurstApp) -> tuple[Account, str, str, str]:
    """Tenant, demo catalog, Telegram (tests/burst.py), then WhatsApp, widget and API."""
    telegram = app.set_up(SLUG, catalog=True)
    whatsapp, widget, api = app.run_commands(
        [
            "add_channel", SLUG, "whatsapp", "--phone-number-id", PHONE_NUMBER_ID,
            "--access-token", WA_ACCESS_TOKEN, "--app-secret", WA_APP_SECRET, "--json",
        ],
        ["add_channel", SLUG, "widget", "--origin", ORIGIN, "--json"],
        ["add_channel", SLUG, "api", "--json"],
    )  # fmt: skip
    assert whatsapp and widget and api
    return telegram, str(whatsapp["path"]), str(widget["key"]), str(api["api_key"])


def read_logs(folder: Path) -> dict[str, str]:
    return {path.name: path.read_text(errors="replace") for path in sorted(folder.glob("*.log"))}


def run(args: argparse.Namespace, folder: Path, database: Database) -> bool:
    telegram = RecordingTelegram().start()
    whatsapp = FakeWhatsApp().number(PHONE_NUMBER_ID, WA_ACCESS_TOKEN).start()
    policy = SoakLLM(fail=args.llm_fail, hang=args.llm_timeout + 3, seed=args.seed)
    llm = FakeLLM(default=policy).start()
    app = BurstApp(
        folder,
        database,
        telegram_base=telegram.base_url,
        llm_base=llm.base_url,
        extra={
            "REDIS_URL": f"redis://127.0.0.1:6379/{args.redis_db}",
            "WHATSAPP_API_BASE": whatsapp.base_url,
            "INBOX_LEASE_SECONDS": str(args.lease),
            "LLM_TIMEOUT": f"{args.llm_timeout:g}",
            "LOG_LEVEL": "INFO",
            **(
                {"LLM_MAX_RETRIES": str(args.llm_max_retries)}
                if args.llm_max_retries is not None
                else {}
            ),
        },
    )
    recovery: subprocess.Popen[bytes] | None = None
    try:
        started = time.perf_counter()
        telegram_account, whatsapp_path, widget_key, api_key = set_up(app)
        print(
            f"set-up (migrate, tenant, demo catalog, 4 channels): "
            f"{time.perf_counter() - started:.0f} s",
            flush=True,
        )
        app.start_web()
        soak = Soak(args, app, telegram_account, whatsapp_path, widget_key, api_key)
        assert app.web is not None
        soak.begin_life("web", app.web.pid)
        for _ in range(args.workers):
            worker = app.start_worker()
            soak.begin_life(f"worker{worker.number}", worker.pid)
        recovery = start_recovery(app, args.recover_every)
        soak.begin_life("recovery", recovery.pid)
        load_before = os.getloadavg()
        cpu_before = {pid: cpu_seconds(pid) for pid in soak.lives}

        def status() -> str:
            events, waiting, unsent = pending(database)
            return f"waiting now: {events} events, {waiting} messages, {unsent} replies"

        print(
            f"load: {args.rate:g} messages/s for {args.minutes:g} min; kills every "
            f"{args.kill_every:g} s",
            flush=True,
        )
        drained = asyncio.run(soak.run(status))
        load_after = os.getloadavg()
        for life in soak.lives.values():
            if life.ended is None:
                life.cpu = max(life.cpu, cpu_seconds(life.pid))
    finally:
        if recovery is not None:
            recovery.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                recovery.wait(timeout=30)
        app.stop()
        llm.stop()
        whatsapp.stop()
        telegram.stop()
    for life in soak.lives.values():
        soak.end_life(life.pid, "stopped")
    print(
        f"\nload average before / after the run: {' '.join(f'{x:.2f}' for x in load_before)} / "
        f"{' '.join(f'{x:.2f}' for x in load_after)}; CPU seconds of the app's processes: "
        + ", ".join(
            f"{life.name} {life.cpu - cpu_before.get(life.pid, 0.0):.0f}"
            for life in soak.lives.values()
        )
    )
    sends = {
        "telegram": telegram.delivered,
        "whatsapp": whatsapp_sends(whatsapp),
        "widget": widget_sends(soak),
    }
    report = examine(soak, database, sends)
    return print_report(args, soak, report, policy, read_logs(folder), drained, database)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--minutes", type=float, default=10.0, help="length of the load (default %(default)s)")
    add("--kill-every", type=float, default=120.0, help="seconds between SIGKILLs (%(default)s)")
    add("--workers", type=int, default=2, help="worker processes (default %(default)s)")
    add("--db", choices=("sqlite", "mariadb"), default="sqlite")
    add("--rate", type=float, default=3.0, help="customer messages per second (%(default)s)")
    add("--customers", type=int, default=30, help="customers per channel (%(default)s)")
    add("--follow-up", type=float, default=0.2, help="share of messages followed by another")
    add("--redeliver", type=float, default=0.05, help="share of webhook posts posted again")
    add("--llm-fail", type=float, default=0.05, help="share of LLM calls that fail")
    add("--llm-timeout", type=float, default=4.0, help="LLM_TIMEOUT, seconds (%(default)s)")
    add(
        "--llm-max-retries",
        type=int,
        default=None,
        help="LLM_MAX_RETRIES (default: the product's, 3; 0 sends every failed call to the "
        "catalog fallback)",
    )
    add("--lease", type=int, default=5, help="INBOX_LEASE_SECONDS (%(default)s)")
    add("--recover-every", type=float, default=10.0, help="inbox_recover --loop (%(default)s)")
    add("--redis-db", type=int, default=12, help="Redis database of the channel layer")
    add("--drain", type=float, default=300.0, help="most seconds to wait at the end")
    add("--settle", type=float, default=5.0, help="seconds to wait once everything is done")
    add("--seed", type=int, default=2026)
    add("--show", type=int, default=10, help="findings printed per kind, with log lines")
    add("--keep", action="store_true", help="keep the run's folder (and MariaDB database)")
    args = parser.parse_args()
    if args.redis_db in (0, 7):
        parser.error("--redis-db: 0 and 7 are used by others; pick another")
    args.widget_limit = (10, 60.0)  # WIDGET_RATE_LIMIT, the product's default

    print(
        f"soak benchmark: {args.minutes:g} min, {args.rate:g} messages/s over {args.customers} "
        f"customers per channel ({', '.join(CHANNELS)}), {args.workers} workers, SIGKILL every "
        f"{args.kill_every:g} s, LLM failing {args.llm_fail:.0%} (LLM_TIMEOUT {args.llm_timeout:g}"
        f" s), INBOX_LEASE_SECONDS {args.lease}, inbox_recover --loop {args.recover_every:g}; "
        f"{args.db}; {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}",
        flush=True,
    )
    folder = Path(tempfile.mkdtemp(prefix="soak-bench-"))
    database = Database(MARIADB_URL) if args.db == "mariadb" else Database.sqlite(folder)
    database.create()
    ok = False
    try:
        ok = run(args, folder, database)
    finally:
        keep = args.keep or not ok
        if not keep:
            database.drop()
            shutil.rmtree(folder, ignore_errors=True)
        else:
            print(f"\nthe run's folder (database, logs) is kept: {folder}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
