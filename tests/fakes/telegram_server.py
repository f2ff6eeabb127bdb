"""A Telegram Bot API server on 127.0.0.1, scripted per test.

It speaks the wire format of https://core.telegram.org/bots/api: ``POST
/bot<token>/<method>`` with a JSON, form or query-string body, answered with
``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": N,
"description": "...", "parameters": {...}}`` under the matching HTTP status.

Methods: ``sendMessage`` (a real-looking Message result, ``message_id``
counting up per chat), ``sendDocument`` (``multipart/form-data`` with the file as an
upload, as bots send a new file; the caption, at most 1024 characters, and an
``inline_keyboard`` ``reply_markup`` whose ``callback_data`` is 1-64 bytes, are checked
and echoed in the Message; the file's bytes are kept in :attr:`Call.files`),
``answerCallbackQuery``, ``sendChatAction``, ``setWebhook`` (refuses a non-HTTPS
URL or a bad secret token as Telegram does), ``deleteWebhook``,
``getWebhookInfo``, ``getMe``. Anything else is 404 "Not Found".

Script failures with :meth:`FakeTelegram.fail` (the next N answers to a
method), :meth:`FakeTelegram.rate_limit` and :meth:`FakeTelegram.block` (a
user who blocked the bot: every send to that chat is 403 from then on).
Every request is kept in :attr:`FakeTelegram.requests` (method, token, body).

Builders for inbound Updates (what Telegram POSTs to a webhook) live here too:
:func:`text_update`, :func:`media_update`, :func:`private_message`, and
:func:`button_press` (the ``callback_query`` of a press on a sent message's button).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import re
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.fakes.base import LocalServer
from tests.fakes.forms import Upload, form_parse

BOT_PATH = re.compile(r"^/bot(?P<token>\d+:[A-Za-z0-9_-]+)/(?P<method>[A-Za-z]+)$")
SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64  # bytes
DESCRIPTIONS = {
    400: "Bad Request: chat not found",
    403: "Forbidden: bot was blocked by the user",
    429: "Too Many Requests: retry after {retry_after}",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


@dataclass
class Call:
    """One request the server received."""

    method: str
    token: str
    body: dict[str, Any]
    at: float
    files: dict[str, Upload] = field(default_factory=dict)
    result: Any = None  # what a successful call answered (the sent Message)

    @property
    def chat_id(self) -> Any:
        return self.body.get("chat_id")

    @property
    def text(self) -> str:
        return str(self.body.get("text", ""))


@dataclass
class Failure:
    status: int
    description: str
    parameters: dict[str, Any] = field(default_factory=dict)


class FakeTelegram(LocalServer):
    def __init__(self) -> None:
        self.requests: list[Call] = []
        self.webhooks: dict[str, dict[str, Any]] = {}  # token -> setWebhook parameters
        self.blocked: set[str] = set()  # chat ids (as strings) that blocked the bot
        self._script: dict[str, deque[Failure]] = defaultdict(deque)
        self._message_ids: dict[tuple[str, str], itertools.count[int]] = {}
        self._lock = threading.Lock()
        super().__init__(self._handler())

    # lifecycle -------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"{self.root_url}"

    # script ----------------------------------------------------------------------------
    def fail(
        self,
        method: str,
        status: int,
        description: str | None = None,
        *,
        times: int = 1,
        parameters: dict[str, Any] | None = None,
    ) -> FakeTelegram:
        """The next ``times`` calls of ``method`` answer this error."""
        text = description or DESCRIPTIONS.get(status, "Error")
        with self._lock:
            for _ in range(times):
                self._script[method].append(Failure(status, text, dict(parameters or {})))
        return self

    def rate_limit(self, method: str, retry_after: int, *, times: int = 1) -> FakeTelegram:
        return self.fail(
            method,
            429,
            DESCRIPTIONS[429].format(retry_after=retry_after),
            times=times,
            parameters={"retry_after": retry_after},
        )

    def block(self, chat_id: int | str) -> FakeTelegram:
        """The user of this private chat blocked the bot."""
        with self._lock:
            self.blocked.add(str(chat_id))
        return self

    # what was received -----------------------------------------------------------------
    def calls(self, method: str | None = None, *, chat_id: int | str | None = None) -> list[Call]:
        with self._lock:
            found = list(self.requests)
        if method is not None:
            found = [c for c in found if c.method == method]
        if chat_id is not None:
            found = [c for c in found if str(c.chat_id) == str(chat_id)]
        return found

    def sent(self, chat_id: int | str | None = None) -> list[str]:
        """The texts of the sendMessage calls (to ``chat_id``), in order."""
        return [c.text for c in self.calls("sendMessage", chat_id=chat_id)]

    def documents(self, chat_id: int | str | None = None) -> list[Call]:
        """The sendDocument calls Telegram took (to ``chat_id``), in order."""
        return [c for c in self.calls("sendDocument", chat_id=chat_id) if c.result is not None]

    # the API ---------------------------------------------------------------------------
    def _answer(
        self, method: str, token: str, body: dict[str, Any], files: dict[str, Upload]
    ) -> tuple[int, dict]:
        call = Call(method, token, body, time.monotonic(), files)
        with self._lock:
            self.requests.append(call)
            scripted = self._script[method].popleft() if self._script[method] else None
        if scripted is not None:
            return _failure(scripted)
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return _failure(Failure(404, "Not Found"))
        status, payload = (
            handler(token, body, files) if method == "sendDocument" else handler(token, body)
        )
        if status == 200:
            call.result = payload["result"]
        return status, payload

    def _m_getMe(self, token: str, body: dict[str, Any]) -> tuple[int, dict]:
        return _ok(_bot(token) | {"can_join_groups": True, "supports_inline_queries": False})

    def _m_sendMessage(self, token: str, body: dict[str, Any]) -> tuple[int, dict]:
        chat_id, text = body.get("chat_id"), body.get("text")
        if chat_id in (None, ""):
            return _failure(Failure(400, "Bad Request: chat_id is empty"))
        if not text:
            return _failure(Failure(400, "Bad Request: message text is empty"))
        if len(str(text)) > MAX_TEXT:
            return _failure(Failure(400, "Bad Request: message is too long"))
        if str(chat_id) in self.blocked:
            return _failure(Failure(403, DESCRIPTIONS[403]))
        return _ok(self._message(token, chat_id) | {"text": str(text)})

    def _m_sendDocument(
        self, token: str, body: dict[str, Any], files: dict[str, Upload]
    ) -> tuple[int, dict]:
        chat_id, caption = body.get("chat_id"), str(body.get("caption", ""))
        if chat_id in (None, ""):
            return _failure(Failure(400, "Bad Request: chat_id is empty"))
        upload = files.get("document")
        if upload is None or not upload.content:
            return _failure(Failure(400, "Bad Request: there is no document in the request"))
        if len(caption) > MAX_CAPTION:
            return _failure(Failure(400, "Bad Request: message caption is too long"))
        markup = body.get("reply_markup")
        try:
            keyboard = _inline_keyboard(markup) if markup is not None else None
        except ValueError as exc:
            return _failure(Failure(400, f"Bad Request: {exc}"))
        if str(chat_id) in self.blocked:
            return _failure(Failure(403, DESCRIPTIONS[403]))
        message = self._message(token, chat_id)
        message["document"] = {
            "file_name": upload.filename,
            "mime_type": upload.content_type,
            "file_id": f"BQACAgEAAxkDAAI{message['message_id']}",
            "file_unique_id": f"AgAD{message['message_id']}",
            "file_size": len(upload.content),
        }
        if caption:
            message["caption"] = caption
        if keyboard is not None:
            message["reply_markup"] = keyboard
        return _ok(message)

    def _m_answerCallbackQuery(self, token: str, body: dict[str, Any]) -> tuple[int, dict]:
        if not body.get("callback_query_id"):
            return _failure(
                Failure(
                    400,
                    "Bad Request: query is too old and response timeout "
                    "expired or query ID is invalid",
                )
            )
        return _ok(True)

    def answered(self) -> list[str]:
        """The callback query ids answered with answerCallbackQuery, in order."""
        return [str(c.body.get("callback_query_id")) for c in self.calls("answerCallbackQuery")]

    def _message(self, token: str, chat_id: Any) -> dict[str, Any]:
        with self._lock:
            counter = self._message_ids.setdefault((token, str(chat_id)), itertools.count(1001))
            message_id = next(counter)
        return {
            "message_id": message_id,
            "from": _bot(token),
            "chat": {"id": _int(chat_id), "first_name": "Customer", "type": "private"},
            "date": int(time.time()),
        }

    def _m_sendChatAction(self, token: str, body: dict[str, Any]) -> tuple[int, dict]:
        if body.get("chat_id") in (None, ""):
            return _failure(Failure(400, "Bad Request: chat_id is empty"))
        if body.get("action") not in {"typing", "upload_photo", "record_voice", "upload_document"}:
            return _failure(Failure(400, "Bad Request: wrong parameter action in request"))
        if str(body["chat_id"]) in self.blocked:
            return _failure(Failure(403, DESCRIPTIONS[403]))
        return _ok(True)

    def _m_setWebhook(self, token: str, body: dict[str, Any]) -> tuple[int, dict]:
        url = str(body.get("url", ""))
        if url and not url.startswith("https://"):
            return _failure(
                Failure(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
            )
        secret = body.get("secret_token")
        if secret is not None and not SECRET_TOKEN.match(str(secret)):
            return _failure(Failure(400, "Bad Request: secret token contains unallowed characters"))
        allowed = body.get("allowed_updates")
        if isinstance(allowed, str):
            allowed = json.loads(allowed)
        with self._lock:
            self.webhooks[token] = {**body, "allowed_updates": allowed}
        return _ok(True, description="Webhook was set" if url else "Webhook was deleted")

    def _m_deleteWebhook(self, token: str, body: dict[str, Any]) -> tuple[int, dict]:
        with self._lock:
            self.webhooks.pop(token, None)
        return _ok(True, description="Webhook was deleted")

    def _m_getWebhookInfo(self, token: str, body: dict[str, Any]) -> tuple[int, dict]:
        hook = self.webhooks.get(token, {})
        info: dict[str, Any] = {
            "url": hook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": 0,
        }
        if hook.get("allowed_updates"):
            info["allowed_updates"] = hook["allowed_updates"]
        return _ok(info)

    # HTTP ------------------------------------------------------------------------------
    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self._handle(b"")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                self._handle(self.rfile.read(length))

            def _handle(self, raw: bytes) -> None:
                parts = urlsplit(self.path)
                match = BOT_PATH.match(parts.path)
                if match is None:
                    self._json(*_failure(Failure(404, "Not Found")))
                    return
                body: dict[str, Any] = dict(parse_qsl(parts.query))
                files: dict[str, Upload] = {}
                kind = self.headers.get("Content-Type", "")
                try:
                    if kind.lower().startswith("multipart/form-data"):
                        fields, files = form_parse(raw, kind)
                        body.update(fields)
                    else:
                        body.update(self._body(raw))
                except ValueError:
                    self._json(*_failure(Failure(400, "Bad Request: can't parse request")))
                    return
                status, payload = fake._answer(match["method"], match["token"], body, files)
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._json(status, payload)

            def _body(self, raw: bytes) -> dict[str, Any]:
                if not raw:
                    return {}
                kind = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
                if kind == "application/json":
                    parsed = json.loads(raw)
                    if not isinstance(parsed, dict):
                        raise ValueError("not an object")
                    return parsed
                return dict(parse_qsl(raw.decode()))

            def _json(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler


def _ok(result: Any, *, description: str | None = None) -> tuple[int, dict[str, Any]]:
    payload: dict[str, Any] = {"ok": True, "result": result}
    if description:
        payload["description"] = description
    return 200, payload


def _failure(failure: Failure) -> tuple[int, dict[str, Any]]:
    payload: dict[str, Any] = {
        "ok": False,
        "error_code": failure.status,
        "description": failure.description,
    }
    if failure.parameters:
        payload["parameters"] = failure.parameters
    return failure.status, payload


def _bot(token: str) -> dict[str, Any]:
    bot_id = int(token.split(":", 1)[0])
    return {
        "id": bot_id,
        "is_bot": True,
        "first_name": "Sales Bot",
        "username": f"sales{bot_id}_bot",
    }


def _inline_keyboard(markup: Any) -> dict[str, Any]:
    """The ``reply_markup`` of a multipart call (a JSON string), checked as Telegram does."""
    parsed = json.loads(markup) if isinstance(markup, str) else markup
    rows = parsed.get("inline_keyboard") if isinstance(parsed, dict) else None
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise ValueError("can't parse inline keyboard markup JSON object")
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not str(button.get("text") or "").strip():
                raise ValueError("text buttons are unallowed in the inline keyboard")
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA:
                raise ValueError("BUTTON_DATA_INVALID")
    return parsed


def _int(value: Any) -> Any:
    text = str(value)
    return int(text) if text.lstrip("-").isdigit() else value


# Inbound Updates (what Telegram POSTs to the webhook) ------------------------------------

_update_ids = itertools.count(700_000_001)
_message_ids = itertools.count(1)


def private_message(
    chat_id: int,
    *,
    first_name: str = "Ana",
    last_name: str | None = "Gómez",
    language_code: str | None = "es",
    is_bot: bool = False,
    chat_type: str = "private",
    message_id: int | None = None,
    **content: Any,
) -> dict[str, Any]:
    """A Message object from a user, with ``content`` (``text=…``, ``photo=[…]``…)."""
    user: dict[str, Any] = {"id": chat_id, "is_bot": is_bot, "first_name": first_name}
    if last_name:
        user["last_name"] = last_name
    if language_code:
        user["language_code"] = language_code
    chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
    if chat_type == "private":
        chat |= {k: v for k, v in user.items() if k in ("first_name", "last_name")}
    else:
        chat["title"] = "Compras (grupo)"
    return {
        "message_id": next(_message_ids) if message_id is None else message_id,
        "from": user,
        "chat": chat,
        "date": int(time.time()),
        **content,
    }


def update(kind: str = "message", *, update_id: int | None = None, **payload: Any) -> dict:
    """An Update carrying ``payload`` under ``kind`` (``message``, ``edited_message``…)."""
    return {"update_id": next(_update_ids) if update_id is None else update_id, kind: payload}


def text_update(chat_id: int, text: str, **kwargs: Any) -> dict[str, Any]:
    return update("message", **private_message(chat_id, text=text, **kwargs))


PHOTO = [
    {
        "file_id": "AgACAgEAAxkBAAIB",
        "file_unique_id": "AQADs",
        "file_size": 1234,
        "width": 90,
        "height": 67,
    },
    {
        "file_id": "AgACAgEAAxkBAAIC",
        "file_unique_id": "AQADt",
        "file_size": 45678,
        "width": 800,
        "height": 600,
    },
]
MEDIA: dict[str, Any] = {
    "photo": PHOTO,
    "sticker": {
        "file_id": "CAACAgIAAxkBAAID",
        "file_unique_id": "AgADa",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
        "emoji": "👍",
    },
    "voice": {
        "file_id": "AwACAgEAAxkBAAIE",
        "file_unique_id": "AgADb",
        "duration": 3,
        "mime_type": "audio/ogg",
    },
    "document": {
        "file_id": "BQACAgEAAxkBAAIF",
        "file_unique_id": "AgADc",
        "file_name": "ficha.pdf",
        "mime_type": "application/pdf",
    },
    "location": {"latitude": 4.711, "longitude": -74.0721},
    "contact": {"phone_number": "+573001234567", "first_name": "Luis", "user_id": 42},
}


def media_update(chat_id: int, kind: str, *, caption: str | None = None, **kwargs: Any) -> dict:
    """A private message carrying ``kind`` (``photo``, ``voice``…), with an optional caption."""
    content: dict[str, Any] = {kind: MEDIA[kind]}
    if caption is not None:
        content["caption"] = caption
    return update("message", **private_message(chat_id, **kwargs, **content))


_callback_ids = itertools.count(4_382_000_000_000_001)


def button_press(
    sent: dict[str, Any],
    *,
    data: str | None = None,
    first_name: str = "Ana",
    language_code: str | None = "es",
    update_id: int | None = None,
) -> dict[str, Any]:
    """The Update Telegram POSTs when the user presses a button of ``sent`` (a Message the
    bot sent, e.g. :attr:`Call.result` of a sendDocument): ``data`` defaults to the first
    button's ``callback_data``; the message comes back with its keyboard."""
    if data is None:
        data = sent["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    chat_id = sent["chat"]["id"]
    user: dict[str, Any] = {"id": chat_id, "is_bot": False, "first_name": first_name}
    if language_code:
        user["language_code"] = language_code
    return update(
        "callback_query",
        update_id=update_id,
        id=str(next(_callback_ids)),
        **{"from": user},
        message=sent,
        chat_instance="-4382916630290511238",
        data=data,
    )
