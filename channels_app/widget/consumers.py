"""The widget's WebSocket: ``/ws/widget/<public key>/?token=<visitor token>``.

On connect the account is found by its public key and the browser's ``Origin``
header must be one of the account's allowed origins. Refusals are accepted
and closed at once with an ``error`` frame and a close code (4404 unknown or
inactive key, 4403 origin not allowed), so the script can tell a refusal from
a network drop and stop reconnecting; nothing is read or stored for them.

The visitor is identified by a token signed with ``django.core.signing`` and
salted with the account, issued in the ``ready`` frame and kept by the script
in ``localStorage``. A valid token resumes the visitor (contact platform
``widget``, ``platform_user_id`` = visitor id) and the ``ready`` frame carries
the latest conversation's history; a missing, tampered or other-account token
gets a new visitor.

The ``ready`` frame's config carries the tenant's language and formality: the script
words everything the visitor reads, errors included (an error frame is a code and its
parameters, ``retry_after`` for the rate limit, ``max_chars`` for a long message), and
``advisor`` names the rep who has the conversation, if one took it over.

A ``message`` frame is checked (rate and size limits, shape; a lone surrogate or NUL
in its text becomes U+FFFD, ``channels_app.text``), stored through
the durable inbox with an id namespaced by account and visitor (a resend after
a reconnect is recognised), acknowledged, and answered by a background task
in this process so the reply streams to the visitor's group (see
``transport.py``). If this process dies first, ``inbox_recover`` re-queues it.

A ``quote_accept`` frame (a press of a quote's "Accept quote" button) counts against the
same rate limit; its payload must name a quote of this visitor's conversation, else an
``unknown_quote`` error frame answers and nothing is stored. It is stored through the same
inbox as the visitor's message (``metadata {"quote_accept": key}``), acknowledged, and the
inbox accepts the quote before the agent runs (``channels_app.inbox.acceptance``).
"""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
import time
import uuid
from collections import deque
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from pydantic import ValidationError

from channels_app.inbox import conversation_answer
from channels_app.models import ChannelAccount
from channels_app.selectors import channel_account_for_key
from channels_app.text import JsonRefused, json_parse
from channels_app.widget import schemas
from channels_app.widget.services import (
    visitor_advisor,
    visitor_from_token,
    visitor_history,
    visitor_message_store,
    visitor_quote_accept_store,
    visitor_token,
)
from channels_app.widget.transport import visitor_group

logger = logging.getLogger(__name__)

CLOSE_UNKNOWN_KEY = 4404
CLOSE_ORIGIN_REFUSED = 4403

# Answer tasks outlive the socket that started them (the reply is stored either way).
_answering: set[asyncio.Task[Any]] = set()

LANGUAGES: tuple[schemas.Language, ...] = ("es", "en", "pt")


def _language(code: str) -> schemas.Language:
    """The tenant's language if the widget speaks it, else English."""
    for language in LANGUAGES:
        if code == language:
            return language
    return "en"


def rate_limit() -> tuple[int, float]:
    """``WIDGET_RATE_LIMIT`` ("count/seconds") parsed; a bad value fails loudly."""
    raw = str(settings.WIDGET_RATE_LIMIT)
    try:
        count, seconds = raw.split("/")
        parsed = int(count), float(seconds)
    except ValueError:
        parsed = (0, 0.0)
    if parsed[0] < 1 or parsed[1] <= 0:
        raise ImproperlyConfigured(f"WIDGET_RATE_LIMIT must look like '10/60', got {raw!r}")
    return parsed


async def answers_wait(timeout: float = 30.0) -> bool:
    """Wait for the answers this process started (a graceful shutdown, tests); True when done."""
    deadline = time.monotonic() + timeout
    while _answering and time.monotonic() < deadline:
        await asyncio.wait(list(_answering), timeout=deadline - time.monotonic())
    return not _answering


async def _answer(account: ChannelAccount, conversation_id: int) -> None:
    try:
        await conversation_answer(tenant=account.tenant, conversation_id=conversation_id)
    except Exception:  # inbox_recover will pick the conversation up again
        logger.exception("widget: answering conversation %s failed", conversation_id)


class WidgetConsumer(AsyncJsonWebsocketConsumer):
    account: ChannelAccount | None = None  # None: refused, every frame is ignored
    visitor_id: str = ""
    group: str = ""
    limit: int = 0  # messages per window (WIDGET_RATE_LIMIT)
    window: float = 0.0  # seconds
    sent_at: deque[float]  # when this connection's accepted messages arrived

    async def connect(self) -> None:
        key = self.scope["url_route"]["kwargs"]["key"]
        account = await database_sync_to_async(channel_account_for_key)(
            kind=ChannelAccount.Kind.WIDGET, key=key
        )
        if account is None:
            await self._refuse(CLOSE_UNKNOWN_KEY, "unknown_key", "This chat is not available.")
            return
        if self._origin() not in {origin.lower() for origin in account.origins}:
            await self._refuse(
                CLOSE_ORIGIN_REFUSED, "origin_refused", "This site may not embed this chat."
            )
            return
        self.account = account
        self.limit, self.window = rate_limit()
        self.sent_at = deque()
        token = parse_qs(self.scope.get("query_string", b"").decode("latin-1")).get("token", [""])
        visitor_id = visitor_from_token(account=account, token=token[0])
        history: list[schemas.HistoryItem] = []
        advisor = ""
        if visitor_id is None:
            visitor_id = secrets.token_urlsafe(16)
        else:
            history = await database_sync_to_async(visitor_history)(
                account=account, visitor_id=visitor_id
            )
            if history:
                advisor = await database_sync_to_async(visitor_advisor)(
                    account=account, visitor_id=visitor_id
                )
        self.visitor_id = visitor_id
        self.group = visitor_group(
            tenant_id=account.tenant_id, account_id=account.pk, visitor_id=visitor_id
        )
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        ready = schemas.Ready(
            token=visitor_token(account=account, visitor_id=visitor_id),
            config=schemas.WidgetConfig(
                title=account.tenant.name,
                greeting=account.greeting,
                color=account.color,
                max_chars=settings.WIDGET_MAX_MESSAGE_CHARS,
                language=_language(account.tenant.default_language),
                formality="informal" if account.tenant.formality == "informal" else "formal",
            ),
            history=history,
            advisor=advisor,
        )
        await self.send_json(schemas.frame(ready))

    async def disconnect(self, code: int) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    def _origin(self) -> str:
        for name, value in self.scope.get("headers", []):
            if name == b"origin":
                return value.decode("latin-1").strip().rstrip("/").lower()
        return ""

    async def _refuse(self, code: int, error: schemas.ErrorCode, message: str) -> None:
        await self.accept()
        await self.send_json(schemas.frame(schemas.Error(code=error, message=message)))
        await self.close(code)

    async def _error(
        self,
        code: schemas.ErrorCode,
        message: str,
        client_id: str | None = None,
        *,
        retry_after: int | None = None,
        max_chars: int | None = None,
    ) -> None:
        error = schemas.Error(
            code=code, message=message, id=client_id, retry_after=retry_after, max_chars=max_chars
        )
        await self.send_json(schemas.frame(error))

    async def _too_long(self, client_id: str | None = None) -> None:
        limit = settings.WIDGET_MAX_MESSAGE_CHARS
        message = f"Messages can be up to {limit} characters."
        await self._error("too_long", message, client_id, max_chars=limit)

    # frames from the browser ---------------------------------------------------------

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any
    ) -> None:
        if self.account is None:
            return
        if len(text_data or "") > settings.WIDGET_MAX_MESSAGE_CHARS * 6 + 1024:  # not even parsed
            await self._too_long()
            return
        try:
            parsed = schemas.client_frame.validate_python(json_parse(text_data or ""))
        except (JsonRefused, ValidationError):
            await self._error("bad_frame", 'Send JSON such as {"type": "message", "text": …}.')
            return
        if isinstance(parsed, schemas.PingIn):
            await self.send_json(schemas.frame(schemas.Pong()))
            return
        if isinstance(parsed, schemas.QuoteAcceptIn):
            await self._quote_accept(parsed)
            return
        await self._message(parsed)

    async def _limited(self, client_id: str | None) -> bool:
        """Count a frame against the rate limit; True (and the error sent) when over it."""
        now = time.monotonic()
        while self.sent_at and now - self.sent_at[0] >= self.window:
            self.sent_at.popleft()
        if len(self.sent_at) >= self.limit:
            # Whole seconds, rounded up: at 0 the oldest message has left the window.
            wait = max(1, math.ceil(self.window - (now - self.sent_at[0])))
            message = f"Too many messages: wait {wait} s."
            await self._error("rate_limited", message, client_id, retry_after=wait)
            return True
        self.sent_at.append(now)
        return False

    async def _message(self, frame: schemas.MessageIn) -> None:
        assert self.account is not None
        text = frame.text.strip()
        if not text:
            await self._error("bad_frame", "The message is empty.", frame.id)
            return
        if len(text) > settings.WIDGET_MAX_MESSAGE_CHARS:
            await self._too_long(frame.id)
            return
        if await self._limited(frame.id):
            return
        client_id = frame.id or uuid.uuid4().hex
        conversation_id, _ = await database_sync_to_async(visitor_message_store)(
            account=self.account, visitor_id=self.visitor_id, text=text, client_id=client_id
        )
        await self.send_json(schemas.frame(schemas.Ack(id=client_id)))
        self._answer(conversation_id)

    async def _quote_accept(self, frame: schemas.QuoteAcceptIn) -> None:
        """A press of a quote's accept button: stored as the visitor's message when the
        quote is theirs (the inbox accepts it before the agent runs), else refused."""
        assert self.account is not None
        if await self._limited(frame.id):
            return
        stored = await database_sync_to_async(visitor_quote_accept_store)(
            account=self.account, visitor_id=self.visitor_id, payload=frame.payload
        )
        if stored is None:
            message = "This quote is not one of this conversation's; nothing was accepted."
            await self._error("unknown_quote", message, frame.id)
            return
        await self.send_json(schemas.frame(schemas.Ack(id=frame.id or uuid.uuid4().hex)))
        self._answer(stored[0])

    def _answer(self, conversation_id: int) -> None:
        assert self.account is not None
        # Also for a resend: a no-op if the conversation is answered or being answered.
        task = asyncio.create_task(_answer(self.account, conversation_id))
        _answering.add(task)
        task.add_done_callback(_answering.discard)

    # frames from the visitor's group (transport.py) ----------------------------------

    async def widget_frame(self, event: dict[str, Any]) -> None:
        await self.send_json(event["frame"])
