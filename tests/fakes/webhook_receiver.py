"""A CRM's webhook receiver on 127.0.0.1: verifies each request's signature as the README
tells a CRM to (its own code, not the project's), records what arrived, and answers as
scripted.

* Every request is kept in :attr:`WebhookReceiver.received` (a :class:`Received`: event id,
  type, the parsed payload, whether the signature verified, the answer given).
* :meth:`WebhookReceiver.script` queues answers for the next requests: a status code
  (``500``), or ``("sleep", seconds)`` to answer only after that long (a timeout for the
  sender). Then ``default_status`` (200) after ``delay`` seconds (the benchmark's 100 ms).
* A request whose signature does not verify is answered 400 and recorded as such.
* :meth:`WebhookReceiver.wait_for` waits until a condition on the records holds.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.fakes.base import LocalServer

TOLERANCE = 300


def verify(secret: str, body: bytes, header: str, tolerance: int = TOLERANCE) -> bool:
    """The README's verification snippet, as a CRM would write it."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    if abs(time.time() - timestamp) > tolerance:
        return False
    expected = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(expected, fields.get("v1", ""))


@dataclass
class Received:
    path: str
    event_id: str
    event_type: str
    payload: dict[str, Any]
    headers: dict[str, str]
    verified: bool
    answered: int | None  # None: the sender hung up before the answer
    at: float


class WebhookReceiver(LocalServer):
    def __init__(self, *, secret: str = "", delay: float = 0.0) -> None:
        self.secrets: dict[str, str] = {}  # path -> secret ("/" unless several endpoints)
        if secret:
            self.secrets["/"] = secret
        self.delay = delay
        self.default_status = 200
        self.received: list[Received] = []
        self._script: deque[Any] = deque()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        super().__init__(self._handler())

    def url(self, path: str = "/") -> str:
        return self.root_url + path

    def script(self, *answers: Any) -> None:
        with self._lock:
            self._script.extend(answers)

    @property
    def event_ids(self) -> list[str]:
        with self._lock:
            return [r.event_id for r in self.received if r.verified]

    def wait_for(self, condition: Callable[[list[Received]], bool], timeout: float = 20) -> bool:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not condition(list(self.received)):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(min(left, 0.1))
        return True

    def _next_answer(self) -> Any:
        with self._lock:
            return self._script.popleft() if self._script else None

    def _record(self, received: Received) -> None:
        with self._changed:
            self.received.append(received)
            self._changed.notify_all()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                secret = receiver.secrets.get(self.path, receiver.secrets.get("/", ""))
                verified = verify(secret, body, self.headers.get("X-Signature", ""))
                try:
                    payload = json.loads(body)
                except ValueError:
                    payload = {}
                answer = receiver._next_answer()
                status = receiver.default_status if answer is None else answer
                wait = receiver.delay
                if isinstance(answer, tuple) and answer[0] == "sleep":
                    status, wait = receiver.default_status, float(answer[1])
                if not verified:
                    status = 400
                record = Received(
                    path=self.path,
                    event_id=self.headers.get("X-Event-Id", ""),
                    event_type=self.headers.get("X-Event-Type", ""),
                    payload=payload,
                    headers=dict(self.headers.items()),
                    verified=verified,
                    answered=status,
                    at=time.time(),
                )
                receiver._record(record)
                if wait:
                    time.sleep(wait)
                reply = json.dumps({"received": verified}).encode()
                if isinstance(answer, int) and answer >= 500:
                    reply = b"<h1>Server error</h1><script>alert('x')</script>"
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(reply)))
                    self.end_headers()
                    self.wfile.write(reply)
                except (BrokenPipeError, ConnectionResetError):
                    record.answered = None  # the sender gave up waiting

        return Handler
