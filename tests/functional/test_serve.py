"""How the app is served (``python -m config.serve``, issue 13), as a real Daphne process on
a free port: a request whose declared body never arrives is answered 408 and closed within
``HTTP_BODY_TIMEOUT``; the access log masks secrets in query strings (WhatsApp's
``hub.verify_token``); every console log line is masked the same way."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live import LiveApp, running_app

TIMEOUT = 2  # HTTP_BODY_TIMEOUT of the served app, seconds


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    folder: Path = tmp_path_factory.mktemp("serve")
    env = {"HTTP_BODY_TIMEOUT": str(TIMEOUT), "TASKS_IN_PROCESS_WORKER": "0"}
    with running_app(folder, env=env, setup=(("migrate", "--noinput"),)) as live:
        yield live


def connect(app: LiveApp) -> socket.socket:
    host, port = app.url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=30)


def read_until_closed(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


@pytest.mark.parametrize(
    "path", ["/api/v1/messages", "/webhooks/whatsapp/some-key/", "/admin/login/"]
)
def test_a_body_that_stalls_is_answered_408_and_closed_within_the_timeout(app, path):
    with connect(app) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n".encode()
            + b'{"text": "half a bo'
        )
        started = time.monotonic()
        answer = read_until_closed(sock)
        waited = time.monotonic() - started

    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert b'"ok": false' in answer
    assert waited < TIMEOUT + 4  # checked every two seconds
    assert f"POST {path}" in app.log and '" 408 ' in app.log


def test_a_body_that_keeps_coming_is_not_cut_off(app):
    """The deadline grows with what arrives (HTTP_BODY_MIN_RATE): a body sent in pieces
    slower than the timeout overall, but steadily, still reaches the application."""
    body = b'{"text": "' + b"x" * 3000 + b'"}'
    with connect(app) as sock:
        sock.sendall(
            b"POST /api/v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            b"Content-Type: application/json\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
        )
        for start in range(0, len(body), 1000):
            sock.sendall(body[start : start + 1000])
            time.sleep(TIMEOUT * 0.75)
        answer = read_until_closed(sock)

    assert answer.startswith(b"HTTP/1.1 401 "), answer[:200]  # the API's answer: no key


def test_the_access_log_masks_the_verify_token(app):
    with connect(app) as sock:
        sock.sendall(
            b"GET /webhooks/whatsapp/no-such-key/?hub.mode=subscribe"
            b"&hub.verify_token=sEcReT-verify-1234&hub.challenge=42 HTTP/1.1\r\n"
            b"Host: 127.0.0.1\r\nConnection: close\r\n\r\n"
        )
        assert read_until_closed(sock).startswith(b"HTTP/1.1 404 ")
    deadline = time.monotonic() + 5
    while "hub.challenge=42" not in app.log and time.monotonic() < deadline:
        time.sleep(0.1)

    assert "hub.verify_token=***&hub.challenge=42" in app.log
    assert "sEcReT" not in app.log


def test_console_log_lines_mask_query_secrets():
    """runserver's request lines (django.server) and any other record on the console."""
    [handler] = [h for h in logging.getLogger().handlers if h.get_name() == "console"]
    record = logging.LogRecord(
        "django.server",
        logging.INFO,
        __file__,
        1,
        '"GET %s HTTP/1.1" 200 2',
        ("/webhooks/whatsapp/k/?hub.verify_token=sEcReT-1",),
        None,
    )

    assert handler.filter(record)

    assert record.getMessage() == '"GET /webhooks/whatsapp/k/?hub.verify_token=*** HTTP/1.1" 200 2'
