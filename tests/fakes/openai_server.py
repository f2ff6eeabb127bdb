"""An OpenAI-compatible chat completions server on 127.0.0.1, scripted per test.

It speaks the wire format the official SDK expects: ``POST /v1/chat/completions``
answering a ``chat.completion`` JSON, or with ``"stream": true`` a
``text/event-stream`` of ``chat.completion.chunk`` events ending in
``data: [DONE]`` (tool calls arrive as deltas: id and name first, arguments in
pieces; usage in a last chunk with no choices when ``stream_options.include_usage``).

Each request takes the next action from the script: :meth:`FakeLLM.text`,
:meth:`FakeLLM.tool_calls`, :meth:`FakeLLM.status` (an HTTP error, optionally
with ``Retry-After``), :meth:`FakeLLM.hang`. With an empty script the server
answers 500 "script exhausted", so an unexpected call fails the test loudly.
Every request body is kept in :attr:`FakeLLM.requests` with its arrival time.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.fakes.base import LocalServer

_ids = itertools.count(1)


@dataclass
class Action:
    kind: str  # text | tools | status | hang
    content: str = ""
    calls: list[tuple[str, str]] = field(default_factory=list)  # (name, raw JSON arguments)
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    delay: float = 0.0
    usage: tuple[int, int] = (120, 30)


@dataclass
class Received:
    body: dict[str, Any]
    at: float
    headers: dict[str, str]

    @property
    def system_prompt(self) -> str:
        return next((m["content"] for m in self.body["messages"] if m["role"] == "system"), "")

    @property
    def tool_names(self) -> list[str]:
        return [t["function"]["name"] for t in self.body.get("tools", [])]


class FakeLLM(LocalServer):
    def __init__(self, default: Callable[[dict[str, Any]], Action] | None = None) -> None:
        self.script: deque[Action] = deque()
        self.requests: list[Received] = []
        self.default = default
        self._lock = threading.Lock()
        super().__init__(self._handler())

    # lifecycle -------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"{self.root_url}/v1"

    # script ----------------------------------------------------------------------------
    def text(self, content: str, *, delay: float = 0.0, usage: tuple[int, int] = (120, 30)):
        self.script.append(Action("text", content=content, delay=delay, usage=usage))
        return self

    def tool_calls(self, *calls: tuple[str, dict[str, Any] | str], content: str = ""):
        raw = [(n, a if isinstance(a, str) else json.dumps(a)) for n, a in calls]
        self.script.append(Action("tools", calls=raw, content=content))
        return self

    def status(self, status: int, *, headers: dict[str, str] | None = None, times: int = 1):
        for _ in range(times):
            self.script.append(Action("status", status=status, headers=headers or {}))
        return self

    def hang(self, seconds: float, *, times: int = 1):
        for _ in range(times):
            self.script.append(Action("hang", seconds=seconds))
        return self

    def _next(self, body: dict[str, Any]) -> Action | None:
        with self._lock:
            if self.script:
                return self.script.popleft()
        return self.default(body) if self.default else None

    # HTTP ------------------------------------------------------------------------------
    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                raw = self.rfile.read(length)
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._json(404, {"error": {"message": f"no route {self.path}"}})
                    return
                body = json.loads(raw)
                with fake._lock:
                    fake.requests.append(Received(body, time.monotonic(), dict(self.headers)))
                action = fake._next(body)
                # the client may have given up (a timeout test)
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._answer(body, action)

            def _answer(self, body: dict[str, Any], action: Action | None) -> None:
                if action is None:
                    self._json(500, {"error": {"message": "script exhausted", "type": "test"}})
                    return
                if action.delay:
                    time.sleep(action.delay)
                if action.kind == "hang":
                    time.sleep(action.seconds)
                    self._json(500, {"error": {"message": "hung"}})
                    return
                if action.kind == "status":
                    message = {429: "Rate limit reached", 500: "Internal error"}.get(
                        action.status, "error"
                    )
                    self._json(
                        action.status,
                        {"error": {"message": message, "type": "server_error"}},
                        action.headers,
                    )
                    return
                if body.get("stream"):
                    self._stream(body, action)
                else:
                    self._json(200, completion(body, action))

            def _json(
                self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
            ) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, body: dict[str, Any], action: Action) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()
                for chunk in stream_chunks(body, action):
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.flush()
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                self.close_connection = True

        return Handler


def _usage(action: Action) -> dict[str, int]:
    prompt, completion_tokens = action.usage
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt + completion_tokens,
    }


def completion(body: dict[str, Any], action: Action) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": action.content or None}
    finish = "stop"
    if action.kind == "tools":
        finish = "tool_calls"
        message["tool_calls"] = [
            {
                "id": f"call_{next(_ids)}",
                "type": "function",
                "function": {"name": name, "arguments": arguments},
            }
            for name, arguments in action.calls
        ]
    return {
        "id": f"chatcmpl-{next(_ids)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "fake"),
        "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
        "usage": _usage(action),
    }


def stream_chunks(body: dict[str, Any], action: Action) -> list[dict[str, Any]]:
    ident, created, model = f"chatcmpl-{next(_ids)}", int(time.time()), body.get("model", "fake")

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": ident,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
        }

    chunks = [chunk({"role": "assistant", "content": ""})]
    words = action.content.split(" ") if action.content else []
    for i, word in enumerate(words):
        chunks.append(chunk({"content": word if i == 0 else " " + word}))
    for index, (name, arguments) in enumerate(action.calls):
        head = {"index": index, "id": f"call_{next(_ids)}", "type": "function"}
        chunks.append(
            chunk({"tool_calls": [{**head, "function": {"name": name, "arguments": ""}}]})
        )
        half = len(arguments) // 2
        for piece in (arguments[:half], arguments[half:]):
            chunks.append(
                chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
            )
    chunks.append(chunk({}, "tool_calls" if action.kind == "tools" else "stop"))
    if (body.get("stream_options") or {}).get("include_usage"):
        chunks.append(
            {
                "id": ident,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [],
                "usage": _usage(action),
            }
        )
    return chunks
