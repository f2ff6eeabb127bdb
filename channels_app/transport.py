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
