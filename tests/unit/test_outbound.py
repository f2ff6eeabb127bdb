"""The shared outbound request (one attempt, transient or not) against a real HTTP server on
127.0.0.1, and the retry delay the inbox schedules."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from asgiref.sync import async_to_sync

from channels_app.outbound import post_json, retry_delay, shared_client, split_text


class Scripted(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, answers):
        self.answers = list(answers)
        self.seen: list[dict] = []
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        self.server.seen.append(json.loads(self.rfile.read(length)))
        status, headers, body = self.server.answers.pop(0)
        raw = json.dumps(body).encode()
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    def start(answers):
        srv = Scripted(answers)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        started.append(srv)
        return srv

    started: list[Scripted] = []
    yield start
    for srv in started:
        srv.shutdown()
        srv.server_close()


def send(url, **kwargs):
    async def go():
        async with httpx.AsyncClient(timeout=5) as client:
            return await post_json(client, url, {"x": 1}, **kwargs)

    return async_to_sync(go)()


@pytest.fixture(autouse=True)
def _policy(settings):
    settings.CHANNEL_SEND_RETRIES = 3
    settings.CHANNEL_SEND_BACKOFF = 0.5
    settings.CHANNEL_SEND_MAX_WAIT = 30


def test_one_attempt_and_a_429_carries_the_wait_retry_after_or_the_body_asks(server):
    srv = server(
        [
            (429, {"Retry-After": "2"}, {"error": "slow down"}),
            (429, {}, {"ok": False, "error_code": 429, "parameters": {"retry_after": 7}}),
            (200, {}, {"ok": True}),
        ]
    )
    url = f"http://127.0.0.1:{srv.server_port}/send"
    first, second, third = send(url), send(url), send(url)
    assert (first.ok, first.transient, first.retry_after) == (False, True, 2.0)
    assert (second.transient, second.retry_after) == (True, 7.0)
    assert third.ok and third.body == {"ok": True}
    assert len(srv.seen) == 3  # one request per call: nothing is retried or slept on here


def test_5xx_is_transient_with_no_wait_asked(server):
    srv = server([(502, {}, {"e": 1})])
    outcome = send(f"http://127.0.0.1:{srv.server_port}/send")
    assert (outcome.ok, outcome.status, outcome.transient, outcome.retry_after) == (
        False,
        502,
        True,
        None,
    )
    assert len(srv.seen) == 1


def test_a_permanent_4xx_is_not_transient(server):
    srv = server([(403, {}, {"ok": False, "description": "Forbidden: bot was blocked"})])
    outcome = send(f"http://127.0.0.1:{srv.server_port}/send")
    assert (outcome.status, outcome.transient) == (403, False)
    assert "blocked" in outcome.body["description"]


def test_a_platform_code_can_widen_what_is_transient(server):
    srv = server([(400, {}, {"error": {"code": 130429}})])
    outcome = send(
        f"http://127.0.0.1:{srv.server_port}/send",
        is_transient=lambda status, body: body["error"]["code"] == 130429,
    )
    assert (outcome.status, outcome.transient) == (400, True)


def test_network_errors_are_transient_and_reported():
    outcome = send("http://127.0.0.1:9/closed")
    assert outcome.status is None and "ConnectError" in outcome.error and outcome.transient


def test_the_retry_delay_backs_off_exponentially_obeys_the_platform_and_gives_up():
    delays = [retry_delay(attempt=n, asked=None) for n in (1, 2, 3)]
    assert 0.5 <= delays[0] <= 0.75 and 1.0 <= delays[1] <= 1.5 and 2.0 <= delays[2] <= 3.0
    assert retry_delay(attempt=1, asked=7.0) == 7.0
    assert retry_delay(attempt=1, asked=3600.0) is None  # longer than CHANNEL_SEND_MAX_WAIT
    assert retry_delay(attempt=4, asked=None) is None  # CHANNEL_SEND_RETRIES = 3 are used up


def test_split_text_respects_the_limit_and_boundaries():
    assert split_text("hola") == ["hola"]
    long = ("palabra " * 1200).strip()
    pieces = split_text(long, limit=4096)
    assert all(len(p) <= 4096 for p in pieces)
    assert " ".join(pieces) == long
    assert all(not p.endswith("palabr") for p in pieces)
    paragraphs = "a" * 3500 + "\n\n" + "b" * 3000
    assert split_text(paragraphs) == ["a" * 3500, "b" * 3000]
    assert split_text("x" * 9000) == ["x" * 4096, "x" * 4096, "x" * 808]


def test_one_client_per_event_loop_is_kept_for_every_send():
    async def two() -> tuple[object, object]:
        return shared_client(), shared_client()

    first, again = async_to_sync(two)()
    assert first is again  # building a client loads the certificates: once per loop
    other, _ = async_to_sync(two)()
    assert other is not first  # a pool belongs to its loop
