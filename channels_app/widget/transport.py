"""Outbound for the web widget: frames to the visitor's channel-layer group.

Every socket a visitor has open (tabs, a reconnect) joins one group, named by
:func:`visitor_group` from the tenant, the account and a hash of the visitor
id. The inbox's turn sends its streamed tokens, its typing signal and the final
reply there; the consumer forwards them as ``token``, ``typing`` and
``message`` frames (a rep's reply with the rep's first name), and a take-over as
an ``advisor`` frame.

A turn's typing frames carry one turn id: ``active`` while the turn runs (repeated
every few seconds by the inbox), then once ``active: false`` when it ends
(:meth:`WidgetTransport.typing_stop`), before its reply is sent. A repeat that was
still on its way when the turn ended names an ended turn, and the script ignores it:
the dots never come back after a reply. With ``REDIS_URL`` set the group lives in Redis, so a turn
run by a worker process reaches a socket held by a web process.

A quote goes out as one ``message`` frame whose ``quote`` carries a signed, expiring
download link of the PDF (``quotes.links``) and the accept button's payload
(:meth:`WidgetTransport.send_quote`); the button's press comes back as a ``quote_accept``
frame (``consumers.py``).

Delivery is "stored and offered": a visitor with no socket open receives
nothing now and sees the reply in the history sent on their next connect, so
:meth:`WidgetTransport.send_text` reports success whenever the frame could be
handed to the channel layer.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from typing import TYPE_CHECKING, Any, Literal

from channels.layers import get_channel_layer
from pydantic import BaseModel

from channels_app.transport import QuoteDocument, SendResult
from channels_app.widget import schemas
from tenants.redaction import redact

if TYPE_CHECKING:
    from agent.llm import TokenCallback
    from channels_app.models import ConversationRoute

logger = logging.getLogger(__name__)


def visitor_group(*, tenant_id: int, account_id: int, visitor_id: str) -> str:
    """The channel-layer group of one visitor of one widget (valid group characters only)."""
    digest = hashlib.sha256(visitor_id.encode()).hexdigest()[:32]
    return f"widget.{tenant_id}.{account_id}.{digest}"


def route_group(route: ConversationRoute) -> str:
    return visitor_group(
        tenant_id=route.tenant_id, account_id=route.account_id, visitor_id=route.address
    )


async def _group_send(group: str, event: dict[str, Any]) -> bool:
    layer = get_channel_layer()
    if layer is None:
        logger.error("widget: no channel layer configured (CHANNEL_LAYERS)")
        return False
    # The send runs in a task of its own and the caller waits on a shield: a cancellation
    # (the inbox stopping its typing loop, a turn's timeout) reaches the caller at once
    # instead of landing inside the Redis client, which can turn it into an ordinary
    # error that the best-effort callers would swallow, leaving the turn waiting forever.
    send = asyncio.ensure_future(layer.group_send(group, event))
    send.add_done_callback(_retrieve)
    await asyncio.shield(send)
    return True


def _retrieve(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.debug("widget: group send failed: %s", redact(str(task.exception())))


class WidgetTransport:
    def __init__(self) -> None:
        # The turn running in this process per visitor group (a conversation runs one
        # turn at a time, in one process: the inbox's lease).
        self._turns: dict[str, str] = {}

    async def send_text(
        self,
        route: ConversationRoute,
        text: str,
        *,
        role: str = "assistant",
        start: int = 0,
        author: str = "",
    ) -> SendResult:
        """Offer the reply to the visitor's open sockets (a rep's with their first name).

        A visitor who is not connected is not an error: the reply is stored and
        shown in the history the next time the widget connects.
        """
        return await self._send_message(route, text, role=role, author=author)

    async def send_quote(
        self,
        route: ConversationRoute,
        document: QuoteDocument,
        *,
        role: str = "assistant",
        start: int = 0,
        author: str = "",
    ) -> SendResult:
        """Offer a quote: one ``message`` frame with the caption and the quote (a signed,
        expiring link to the PDF and the accept button's payload), not the file itself."""
        if start >= 1:  # one piece, already offered
            return SendResult(ok=True)
        attachment = schemas.QuoteAttachment(
            reference=document.reference,
            download_url=document.download_url,
            accept_payload=document.accept_payload,
            accept_label=document.accept_label,
        )
        return await self._send_message(
            route, document.caption, role=role, author=author, quote=attachment
        )

    async def _send_message(
        self,
        route: ConversationRoute,
        text: str,
        *,
        role: str,
        author: str,
        quote: schemas.QuoteAttachment | None = None,
    ) -> SendResult:
        out_id = uuid.uuid4().hex
        speaker: Literal["assistant", "agent"] = "agent" if role == "agent" else "assistant"
        name = author if speaker == "agent" else ""
        message = schemas.frame(
            schemas.MessageOut(text=text, id=out_id, role=speaker, author=name, quote=quote)
        )
        try:
            sent = await _group_send(route_group(route), {"type": "widget.frame", "frame": message})
        except Exception as exc:  # the layer (Redis) is down: record it, flag for a rep
            logger.warning("widget: reply not offered to the socket: %s", redact(str(exc)))
            return SendResult(ok=False, error=f"channel layer: {type(exc).__name__}")
        if not sent:
            return SendResult(ok=False, error="no channel layer configured", permanent=True)
        return SendResult(ok=True, external_ids=[f"widget-out:{out_id}"])

    async def typing(self, route: ConversationRoute) -> None:
        """A bot turn runs (the first call of a turn starts it)."""
        group = route_group(route)
        turn = self._turns.setdefault(group, uuid.uuid4().hex[:16])
        await self._offer(group, schemas.Typing(active=True, turn=turn), "typing")

    async def typing_stop(self, route: ConversationRoute) -> None:
        """The bot turn ended: the widget stops its dots (called before the reply is sent)."""
        group = route_group(route)
        turn = self._turns.pop(group, None)
        await self._offer(group, schemas.Typing(active=False, turn=turn), "typing stop")

    async def advisor_joined(self, route: ConversationRoute, name: str) -> None:
        """A sales rep (``name``: their first name) took the conversation over."""
        await self._offer(route_group(route), schemas.Advisor(name=name), "advisor")

    async def _offer(self, group: str, frame: BaseModel, what: str) -> None:
        try:
            await _group_send(group, {"type": "widget.frame", "frame": schemas.frame(frame)})
        except Exception as exc:  # best effort
            logger.debug("widget: %s not sent: %s", what, redact(str(exc)))

    def token_callback(self, route: ConversationRoute) -> TokenCallback | None:
        group = route_group(route)

        async def on_token(text: str) -> None:
            if not text:
                return
            try:
                await _group_send(
                    group,
                    {"type": "widget.frame", "frame": schemas.frame(schemas.Token(text=text))},
                )
            except Exception as exc:  # a lost token must not fail the turn
                logger.debug("widget: token not sent: %s", redact(str(exc)))

        return on_token

    async def mark_read(self, route: ConversationRoute, external_id: str) -> None:
        """Nothing to tell: the widget shows its own messages as sent."""


transport = WidgetTransport()
