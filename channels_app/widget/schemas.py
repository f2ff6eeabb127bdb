"""The widget's WebSocket frames, typed.

Client → server: :class:`MessageIn` (``{"type": "message", "text": ..., "id": ...}``,
``id`` a client-generated id so a resend after a reconnect is recognised),
:class:`QuoteAcceptIn` (``{"type": "quote_accept", "payload": "quote-accept:<key>"}``, a
press of a quote's accept button) and ``{"type": "ping"}``. Server → client: ``ready``
(token, config, history), ``ack``, ``token``, ``typing``, ``message``, ``advisor`` and
``error`` (built by :func:`frame`).

The server sends no text of its own for the visitor to read: the script holds every
string of the widget in Spanish, English and Portuguese and picks the tenant's language
and formality from ``ready.config``. An error is a code with its parameters
(``{"type": "error", "code": "rate_limited", "retry_after": 59}``) that the script
words; its ``message`` is a description in English for developers and logs.

A ``message`` that carries a quote has ``quote`` (:class:`QuoteAttachment`): its
reference, a signed and expiring ``download_url`` of the PDF, and the ``accept_payload``
the accept button sends back; the script words the link and the button itself.

``typing`` frames say when a bot turn runs: ``active`` true when it starts (repeated
while it runs), false when it ends, both with the turn's ``turn`` id, so a late "started"
of a turn that already ended is recognised and ignored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter

ClientId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
# The first three leave the socket open; the last two come with its close (4404, 4403).
Language = Literal["es", "en", "pt"]
ErrorCode = Literal[
    "rate_limited", "too_long", "bad_frame", "unknown_quote", "unknown_key", "origin_refused"
]


class _Frame(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class MessageIn(_Frame):
    type: Literal["message"]
    text: str
    id: ClientId | None = None


class QuoteAcceptIn(_Frame):
    """The visitor pressed a quote's "Accept quote" button."""

    type: Literal["quote_accept"]
    payload: Annotated[str, StringConstraints(max_length=64)]  # "quote-accept:<key>"
    id: ClientId | None = None


class PingIn(_Frame):
    type: Literal["ping"]


ClientFrame = Annotated[MessageIn | QuoteAcceptIn | PingIn, Field(discriminator="type")]
client_frame = TypeAdapter(ClientFrame)


class QuoteAttachment(_Frame):
    """A quote sent in the chat: the PDF behind a signed link, and its accept button."""

    reference: str  # "Q-00042"
    download_url: str  # signed, expiring (QUOTE_LINK_MAX_AGE)
    accept_payload: str  # sent back in a quote_accept frame
    accept_label: str  # the button's label in the quote's language (the script has its own)
    status: Literal["sent", "accepted", "rejected", "expired", "approved", "draft"] = "sent"


class HistoryItem(_Frame):
    role: Literal["user", "assistant", "agent"]
    text: str
    time: datetime
    id: str | None = None  # the client's id of a visitor message: the script drops its resend
    author: str = ""  # a sales rep's first name (role "agent")
    quote: QuoteAttachment | None = None  # a reply that carries a quote


class WidgetConfig(_Frame):
    title: str
    greeting: str  # the account's own greeting; empty: the script's, in the language
    color: str
    max_chars: int
    language: Language = "es"  # the tenant's: every string of the widget
    formality: Literal["formal", "informal"] = "formal"  # usted or tú (Spanish)


class Ready(_Frame):
    type: Literal["ready"] = "ready"
    token: str
    config: WidgetConfig
    history: list[HistoryItem]
    advisor: str = ""  # the first name of the rep who has the conversation now, if any


class Ack(_Frame):
    type: Literal["ack"] = "ack"
    id: str


class Token(_Frame):
    type: Literal["token"] = "token"
    text: str


class Typing(_Frame):
    type: Literal["typing"] = "typing"
    active: bool = True  # a bot turn started (or still runs); False: it ended
    turn: str | None = None


class MessageOut(_Frame):
    type: Literal["message"] = "message"
    role: Literal["assistant", "agent"] = "assistant"  # the bot, or a sales rep
    text: str
    id: str
    author: str = ""  # a sales rep's first name (role "agent")
    quote: QuoteAttachment | None = None  # a reply that carries a quote


class Advisor(_Frame):
    """A sales rep took the conversation over: the widget says they joined."""

    type: Literal["advisor"] = "advisor"
    name: str  # the rep's first name


class Error(_Frame):
    type: Literal["error"] = "error"
    code: ErrorCode
    message: str  # in English, for developers and logs; the script words the code
    id: str | None = None  # the refused message's client id
    retry_after: int | None = None  # rate_limited: seconds until a message is accepted
    max_chars: int | None = None  # too_long: the longest message accepted


class Pong(_Frame):
    type: Literal["pong"] = "pong"


def frame(model: BaseModel) -> dict[str, Any]:
    """A server frame as the JSON-ready dict the consumer sends (unset optional fields
    left out: ``{"type": "error", "code": "rate_limited", "retry_after": 59, …}``)."""
    return model.model_dump(mode="json", exclude_none=True)
