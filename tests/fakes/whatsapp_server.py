"""A WhatsApp Cloud API (Graph API) server on 127.0.0.1, scripted per test, and builders
for signed webhook notifications in the official payload shape.

The server answers ``POST /<version>/<phone_number_id>/messages`` as Meta does:

* a message send (a body with ``type``) →
  ``{"messaging_product": "whatsapp", "contacts": [{"input", "wa_id"}],
  "messages": [{"id": "wamid.…"}]}``, or the next scripted answer: a Graph error
  ``{"error": {"message", "type": "OAuthException", "code", "error_data": {"details"},
  "fbtrace_id"}}`` with its HTTP status (and ``Retry-After`` when asked);
* a read receipt (``"status": "read"``) → ``{"success": true}``;
* a wrong or missing ``Authorization: Bearer`` → 401 with code 190, an unknown
  phone number id → 400 with code 100.

It also answers ``POST /<version>/<phone_number_id>/media`` (``multipart/form-data``:
``messaging_product=whatsapp``, ``type`` and the ``file`` upload) with ``{"id": "<media
id>"}``, keeping the bytes in :attr:`FakeWhatsApp.media` (the next answers can be scripted
with :meth:`FakeWhatsApp.upload_error`). A ``document`` message must name an uploaded media
id (or a link); an ``interactive`` ``button`` message is checked as Meta does (a body of
at most 1024 characters, 1 to 3 reply buttons, ids up to 256 characters, unique titles of
1 to 20 characters).

Register each number with :meth:`FakeWhatsApp.number`. Every message request is kept in
:attr:`FakeWhatsApp.requests`; :attr:`sends` and :attr:`reads` filter them; uploads are in
:attr:`FakeWhatsApp.uploads`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.fakes.base import LocalServer
from tests.fakes.forms import Upload, form_parse

_ids = itertools.count(1)

# Code → (HTTP status, message, details), as the Graph API answers them.
GRAPH_ERRORS: dict[int, tuple[int, str, str]] = {
    4: (400, "(#4) Application request limit reached", "Too many calls"),
    100: (400, "Invalid parameter", "Invalid parameter"),
    190: (401, "Invalid OAuth access token - Cannot parse access token", ""),
    130429: (400, "Rate limit hit", "Cloud API message throughput has been reached."),
    131000: (500, "Something went wrong", "Something went wrong"),
    131026: (400, "Message undeliverable", "Message Undeliverable."),
    131047: (
        400,
        "Re-engagement message",
        "Message failed to send because more than 24 hours have passed since the "
        "customer last replied to this number.",
    ),
    131051: (400, "Unsupported message type", "Message type is not currently supported."),
    131053: (400, "Media upload error", "Unable to upload the media used in the message."),
    131056: (
        400,
        "(Business Account, Consumer Account) pair rate limit hit",
        "Too many messages sent from this phone number to the same phone number "
        "in a short period of time.",
    ),
}


def wamid() -> str:
    raw = f"FAKE{next(_ids):06d}{secrets.token_hex(6)}".encode()
    return "wamid." + base64.b64encode(raw).decode()


def graph_error(code: int, *, message: str | None = None) -> dict[str, Any]:
    _, default, details = GRAPH_ERRORS.get(code, (400, "Error", ""))
    return {
        "error": {
            "message": message or default,
            "type": "OAuthException",
            "code": code,
            "error_data": {"messaging_product": "whatsapp", "details": details},
            "fbtrace_id": f"A{secrets.token_hex(8)}",
        }
    }


@dataclass
class Answer:
    status: int
    body: dict[str, Any] | None = None  # None: the success body
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Received:
    path: str
    phone_number_id: str
    body: dict[str, Any]
    headers: dict[str, str]
    at: float

    @property
    def is_read(self) -> bool:
        return self.body.get("status") == "read"

    @property
    def text(self) -> str:
        return (self.body.get("text") or {}).get("body", "")

    @property
    def kind(self) -> str:
        return str(self.body.get("type", ""))


@dataclass
class MediaUpload:
    """One ``/media`` request: its form fields and the uploaded file (None when missing)."""

    phone_number_id: str
    fields: dict[str, str]
    file: Upload | None
    media_id: str | None = None  # what the server answered, when it took the file


class FakeWhatsApp(LocalServer):
    def __init__(self) -> None:
        self.numbers: dict[str, str] = {}  # phone_number_id → access token
        self.script: deque[Answer] = deque()
        self.read_script: deque[Answer] = deque()  # answers to the next read receipts
        self.requests: list[Received] = []
        self.answered: list[tuple[Received, int, dict[str, Any]]] = []
        self.uploads: list[MediaUpload] = []
        self.media: dict[str, Upload] = {}  # media id → the uploaded file
        self.upload_script: deque[Answer] = deque()
        self._lock = threading.Lock()
        super().__init__(self._handler())

    # lifecycle -------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"{self.root_url}/v23.0"

    # set-up and script -----------------------------------------------------------------
    def number(self, phone_number_id: str, access_token: str) -> FakeWhatsApp:
        self.numbers[phone_number_id] = access_token
        return self

    def error(
        self,
        code: int,
        *,
        times: int = 1,
        retry_after: float | None = None,
        message: str | None = None,
        reads: bool = False,
    ):
        """The next send(s) fail with Graph error ``code`` (its usual HTTP status), with
        ``message`` instead of the usual one if given; ``reads``: the next read receipts."""
        status = GRAPH_ERRORS.get(code, (400, "", ""))[0]
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        script = self.read_script if reads else self.script
        for _ in range(times):
            script.append(Answer(status, graph_error(code, message=message), headers))
        return self

    def status(self, status: int, *, times: int = 1, retry_after: float | None = None):
        """The next send(s) answer a bare HTTP ``status`` (429, 500, 503…)."""
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        body = {"error": {"message": f"HTTP {status}", "type": "OAuthException", "code": 2}}
        if status == 429:
            body = graph_error(130429)
        for _ in range(times):
            self.script.append(Answer(status, body, headers))
        return self

    def upload_error(self, code: int, *, times: int = 1, retry_after: float | None = None):
        """The next media upload(s) fail with Graph error ``code``."""
        status = GRAPH_ERRORS.get(code, (400, "", ""))[0]
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        for _ in range(times):
            self.upload_script.append(Answer(status, graph_error(code), headers))
        return self

    # what arrived ----------------------------------------------------------------------
    def sent_of(self, kind: str) -> list[Received]:
        """The messages of ``type`` ``kind`` (``document``, ``interactive``…) the server took."""
        with self._lock:
            return [r for r, status, _ in self.answered if status == 200 and r.kind == kind]

    def document_bytes(self, received: Received) -> bytes:
        """The uploaded file a document message sent."""
        return self.media[received.body["document"]["id"]].content

    @property
    def sends(self) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if not r.is_read]

    @property
    def reads(self) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if r.is_read]

    def sent_ids(self) -> list[str]:
        """The wamids of the sends that succeeded, in order."""
        with self._lock:
            return [
                body["messages"][0]["id"]
                for r, status, body in self.answered
                if not r.is_read and status == 200
            ]

    # HTTP ------------------------------------------------------------------------------
    def _answer(self, received: Received) -> tuple[int, dict[str, Any], dict[str, str]]:
        token = self.numbers.get(received.phone_number_id)
        if token is None:
            return 400, graph_error(100, message="Unsupported post request."), {}
        if received.headers.get("Authorization") != f"Bearer {token}":
            return 401, graph_error(190), {}
        if received.body.get("messaging_product") != "whatsapp":
            return 400, graph_error(100, message="messaging_product is required"), {}
        if received.is_read:
            with self._lock:
                failed = self.read_script.popleft() if self.read_script else None
            if failed is not None:
                return failed.status, failed.body or {}, failed.headers
            return 200, {"success": True}, {}
        with self._lock:
            scripted = self.script.popleft() if self.script else None
        if scripted is not None and scripted.status != 200:
            return scripted.status, scripted.body or {}, scripted.headers
        refused = self._refused(received.body)
        if refused:
            return (
                400,
                graph_error(131009 if "interactive" in refused else 100, message=refused),
                {},
            )
        target = received.body.get("to") or received.body.get("recipient") or ""
        contact = {"input": target}
        contact["wa_id" if "to" in received.body else "user_id"] = target
        return (
            200,
            {"messaging_product": "whatsapp", "contacts": [contact], "messages": [{"id": wamid()}]},
            {},
        )

    def _refused(self, body: dict[str, Any]) -> str:
        """Why Meta would refuse this message, or ""."""
        kind = body.get("type")
        if kind == "document":
            document = body.get("document") or {}
            if document.get("id") not in self.media and not document.get("link"):
                return "document: unknown media id"
            if len(str(document.get("caption", ""))) > 1024:
                return "document: caption too long"
        if kind == "interactive":
            return _interactive_refused(body.get("interactive"))
        return ""

    def _upload(self, phone_number_id: str, headers: Any, raw: bytes):
        token = self.numbers.get(phone_number_id)
        if token is None:
            return 400, graph_error(100, message="Unsupported post request."), {}
        if headers.get("Authorization") != f"Bearer {token}":
            return 401, graph_error(190), {}
        try:
            fields, files = form_parse(raw, headers.get("Content-Type", ""))
        except ValueError as exc:
            return 400, graph_error(100, message=f"Invalid multipart body: {exc}"), {}
        upload = MediaUpload(phone_number_id, fields, files.get("file"))
        with self._lock:
            self.uploads.append(upload)
            scripted = self.upload_script.popleft() if self.upload_script else None
        if scripted is not None:
            return scripted.status, scripted.body or {}, scripted.headers
        if fields.get("messaging_product") != "whatsapp":
            return 400, graph_error(100, message="messaging_product is required"), {}
        if upload.file is None or not upload.file.content:
            return 400, graph_error(100, message="file is required"), {}
        if not fields.get("type"):
            return 400, graph_error(100, message="type is required"), {}
        upload.media_id = str(1_000_000_000_000_000 + next(_ids))
        with self._lock:
            self.media[upload.media_id] = upload.file
        return 200, {"id": upload.media_id}, {}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                raw = self.rfile.read(length)
                parts = [p for p in self.path.split("?")[0].split("/") if p]
                if len(parts) >= 2 and parts[-1] == "media":
                    self._json(*fake._upload(parts[-2], self.headers, raw))
                    return
                if len(parts) < 2 or parts[-1] != "messages":
                    self._json(400, graph_error(100, message=f"Unknown path {self.path}"))
                    return
                try:
                    body = json.loads(raw)
                except ValueError:
                    self._json(400, graph_error(100, message="Invalid JSON"))
                    return
                received = Received(
                    self.path, parts[-2], body, dict(self.headers), time.monotonic()
                )
                with fake._lock:
                    fake.requests.append(received)
                status, payload, headers = fake._answer(received)
                with fake._lock:
                    fake.answered.append((received, status, payload))
                self._json(status, payload, headers)

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

        return Handler


def _interactive_refused(interactive: Any) -> str:
    if not isinstance(interactive, dict) or interactive.get("type") != "button":
        return "interactive: only reply buttons are served here"
    body = (interactive.get("body") or {}).get("text")
    if not isinstance(body, str) or not body or len(body) > 1024:
        return "interactive: body.text is required (at most 1024 characters)"
    buttons = (interactive.get("action") or {}).get("buttons")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
        return "interactive: 1 to 3 buttons"
    titles = set()
    for button in buttons:
        reply = button.get("reply") if isinstance(button, dict) else None
        if button.get("type") != "reply" or not isinstance(reply, dict):
            return "interactive: a button must be of type reply"
        title, ident = str(reply.get("title") or ""), str(reply.get("id") or "")
        if not 1 <= len(title) <= 20 or title in titles:
            return "interactive: button titles must be unique, 1 to 20 characters"
        if not 1 <= len(ident) <= 256:
            return "interactive: button ids must be 1 to 256 characters"
        titles.add(title)
    return ""


# Webhook notifications, as Meta posts them ----------------------------------------------


def contact(wa_id: str | None, name: str = "Ana Gómez", *, user_id: str | None = None):
    item: dict[str, Any] = {"profile": {"name": name}}
    if wa_id is not None:
        item["wa_id"] = wa_id
    if user_id is not None:
        item["user_id"] = user_id
    return item


def message(
    sender: str | None,
    kind: str = "text",
    *,
    id: str | None = None,
    user_id: str | None = None,
    **content: Any,
) -> dict[str, Any]:
    """A ``messages[]`` item: ``message("573001234567", text={"body": "hola"})``."""
    item: dict[str, Any] = {
        "id": id or wamid(),
        "timestamp": str(int(time.time())),
        "type": kind,
        **content,
    }
    if sender is not None:
        item["from"] = sender
    if user_id is not None:
        item["from_user_id"] = user_id
    return item


def text(sender: str, body: str, *, id: str | None = None) -> dict[str, Any]:
    return message(sender, "text", id=id, text={"body": body})


def button_reply(
    sender: str, reply_id: str, title: str, *, context: str | None = None, id: str | None = None
) -> dict[str, Any]:
    """A ``messages[]`` item for a press of a reply button (``context``: the wamid of the
    interactive message the button belongs to)."""
    item = message(
        sender,
        "interactive",
        id=id,
        interactive={"type": "button_reply", "button_reply": {"id": reply_id, "title": title}},
    )
    if context is not None:
        item["context"] = {"from": "15550783881", "id": context}
    return item


def status(
    wamid: str,
    state: str,
    recipient: str = "573001234567",
    *,
    error: int | None = None,
) -> dict[str, Any]:
    """A ``statuses[]`` item for one of our messages (sent/delivered/read/failed)."""
    item: dict[str, Any] = {
        "id": wamid,
        "status": state,
        "timestamp": str(int(time.time())),
        "recipient_id": recipient,
    }
    if state != "failed":
        item["conversation"] = {
            "id": secrets.token_hex(16),
            "origin": {"type": "service"},
        }
        item["pricing"] = {"billable": True, "pricing_model": "PMP", "category": "service"}
    if error is not None:
        _, title, details = GRAPH_ERRORS.get(error, (400, "Error", ""))
        item["errors"] = [
            {
                "code": error,
                "title": title,
                "message": title,
                "error_data": {"details": details},
                "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
            }
        ]
    return item


def notification(
    phone_number_id: str,
    *,
    contacts: list[dict[str, Any]] | None = None,
    messages: list[dict[str, Any]] | None = None,
    statuses: list[dict[str, Any]] | None = None,
    waba_id: str = "102290129340398",
) -> dict[str, Any]:
    """One entry with one ``messages`` change, as the Cloud API sends it."""
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": phone_number_id},
    }
    if contacts:
        value["contacts"] = contacts
    if messages:
        value["messages"] = messages
    if statuses:
        value["statuses"] = statuses
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": waba_id, "changes": [{"value": value, "field": "messages"}]}],
    }


def signature(raw: bytes, app_secret: str) -> str:
    return "sha256=" + hmac.new(app_secret.encode(), raw, hashlib.sha256).hexdigest()


def signed(payload: dict[str, Any] | bytes, app_secret: str) -> tuple[bytes, dict[str, str]]:
    """The raw body and the headers Meta sends with it (``X-Hub-Signature-256``)."""
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return raw, {"X-Hub-Signature-256": signature(raw, app_secret)}
