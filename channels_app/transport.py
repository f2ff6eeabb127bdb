"""What every outbound channel provides, and how to find the one for an account kind.

Each channel package (``telegram``, ``whatsapp``, ``widget``) has a
``transport.py`` with a module-level ``transport`` object implementing
:class:`Transport`. The inbox calls it; it never raises for a delivery problem,
it returns a :class:`SendResult` saying what happened.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from agent.llm import TokenCallback
    from channels_app.models import ConversationRoute


@dataclass
class SendResult:
    ok: bool
    external_ids: list[str] = field(default_factory=list)  # namespaced, e.g. "tg-out:42:17"
    error: str = ""
    permanent: bool = False  # blocked by the user, outside the 24-hour window: do not retry
    retry_after: float | None = None  # seconds the platform asked to wait before a retry


@dataclass(frozen=True)
class QuoteDocument:
    """A quote as a channel sends it: the PDF, the text that goes with it, and the button
    that accepts it (its ``accept_payload`` comes back in the button's callback/reply id,
    see ``channels_app.quotes``). The widget shows ``download_url`` (signed, expiring)
    instead of attaching the file."""

    key: str
    reference: str
    filename: str
    pdf: bytes
    caption: str
    accept_label: str
    accept_payload: str
    download_url: str


class Transport(Protocol):
    async def send_text(
        self,
        route: ConversationRoute,
        text: str,
        *,
        role: str = "assistant",
        start: int = 0,
        author: str = "",
    ) -> SendResult:
        """Deliver ``text`` (split as the platform needs), one attempt per piece.

        ``start`` skips the pieces an earlier attempt delivered; ``external_ids`` lists the
        pieces this call delivered, also on failure. A transient failure comes back with
        ``permanent=False`` for the inbox to retry later; nothing here sleeps.
        ``role`` is ``assistant`` for the bot and ``agent`` for a sales rep; a channel
        that can show who writes (the widget) uses it, the others ignore it; so is
        ``author``, a rep's first name (empty for the bot)."""
        ...

    async def send_quote(
        self,
        route: ConversationRoute,
        document: QuoteDocument,
        *,
        role: str = "assistant",
        start: int = 0,
        author: str = "",
    ) -> SendResult:
        """Deliver a quote: the document with its caption (piece 0), then what lets the
        customer accept it (piece 1: Telegram's inline button is on the document itself,
        so it has one piece; WhatsApp sends an interactive reply button after the
        document). ``start``/``external_ids`` work as for :meth:`send_text`."""
        ...

    async def typing(self, route: ConversationRoute) -> None:
        """Show that the bot is writing (best effort; never raises). Called when a turn
        starts and every few seconds while it runs; a channel whose indicator lasts until
        it is told otherwise also has ``typing_stop(route)``, called when the turn ends."""
        ...

    def token_callback(self, route: ConversationRoute) -> TokenCallback | None:
        """Where streamed tokens go while the agent writes, or None (no streaming)."""
        ...

    async def mark_read(self, route: ConversationRoute, external_id: str) -> None:
        """Tell the platform the customer's message was read (best effort)."""
        ...


OUTBOUND_KINDS = ("telegram", "whatsapp", "widget")


def transport_for(kind: str) -> Transport | None:
    """The transport of an account kind; None for kinds that answer in the request (api)."""
    if kind not in OUTBOUND_KINDS:
        return None
    module = importlib.import_module(f"channels_app.{kind}.transport")
    return module.transport
