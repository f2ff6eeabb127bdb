"""The shared outbound retry policy against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from asgiref.sync import async_to_sync

from channels_app.outbound import post_json, split_text


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


def send(url, *, sleeps, **kwargs):
    async def go():
        async with httpx.AsyncClient(timeout=5) as client:
            return await post_json(client, url, {"x": 1}, sleep=_record(sleeps), **kwargs)

    return async_to_sync(go)()


def _record(sleeps):
    async def sleep(seconds):
        sleeps.append(seconds)

    return sleep


@pytest.fixture(autouse=True)
def _policy(settings):
    settings.CHANNEL_SEND_RETRIES = 3
    settings.CHANNEL_SEND_BACKOFF = 0.5
    settings.CHANNEL_SEND_MAX_WAIT = 30


def test_429_waits_what_retry_after_or_the_body_asks_then_succeeds(server):
    srv = server(
        [
            (429, {"Retry-After": "2"}, {"error": "slow down"}),
            (429, {}, {"ok": False, "error_code": 429, "parameters": {"retry_after": 7}}),
            (200, {}, {"ok": True}),
        ]
    )
    sleeps: list[float] = []
    outcome = send(f"http://127.0.0.1:{srv.server_port}/send", sleeps=sleeps)
    assert outcome.ok and outcome.attempts == 3 and outcome.body == {"ok": True}
    assert sleeps == [2.0, 7.0]
    assert len(srv.seen) == 3


def test_5xx_backs_off_exponentially_and_gives_up(server):
    srv = server([(502, {}, {"e": 1})] * 4)
    sleeps: list[float] = []
    outcome = send(f"http://127.0.0.1:{srv.server_port}/send", sleeps=sleeps)
    assert (outcome.ok, outcome.status, outcome.attempts) == (False, 502, 4)
    assert len(sleeps) == 3
    assert 0.5 <= sleeps[0] <= 0.75 and 1.0 <= sleeps[1] <= 1.5 and 2.0 <= sleeps[2] <= 3.0


def test_a_permanent_4xx_is_not_retried(server):
    srv = server([(403, {}, {"ok": False, "description": "Forbidden: bot was blocked"})])
    sleeps: list[float] = []
    outcome = send(f"http://127.0.0.1:{srv.server_port}/send", sleeps=sleeps)
    assert (outcome.status, outcome.attempts, sleeps) == (403, 1, [])
    assert "blocked" in outcome.body["description"]


def test_a_wait_longer_than_allowed_is_not_waited(server):
    srv = server([(429, {"Retry-After": "3600"}, {})])
    sleeps: list[float] = []
    outcome = send(f"http://127.0.0.1:{srv.server_port}/send", sleeps=sleeps)
    assert (outcome.status, sleeps) == (429, [])


def test_network_errors_are_retried_and_reported():
    sleeps: list[float] = []
    outcome = send("http://127.0.0.1:9/closed", sleeps=sleeps)
    assert outcome.status is None and "ConnectError" in outcome.error
    assert outcome.attempts == 4 and len(sleeps) == 3


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
