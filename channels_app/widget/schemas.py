"""The widget's WebSocket frames, typed.

Client → server: :class:`MessageIn` (``{"type": "message", "text": ..., "id": ...}``,
``id`` a client-generated id so a resend after a reconnect is recognised) and
``{"type": "ping"}``. Server → client: ``ready`` (token, config, history), ``ack``,
``token``, ``typing``, ``message`` and ``error`` (built by :func:`frame`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter

ClientId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
# The first three leave the socket open; the last two come with its close (4404, 4403).
ErrorCode = Literal["rate_limited", "too_long", "bad_frame", "unknown_key", "origin_refused"]


class _Frame(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class MessageIn(_Frame):
    type: Literal["message"]
    text: str
    id: ClientId | None = None


class PingIn(_Frame):
    type: Literal["ping"]


ClientFrame = Annotated[MessageIn | PingIn, Field(discriminator="type")]
client_frame = TypeAdapter(ClientFrame)


class HistoryItem(_Frame):
    role: Literal["user", "assistant", "agent"]
    text: str
    time: datetime
    id: str | None = None  # the client's id of a visitor message: the script drops its resend


class WidgetConfig(_Frame):
    title: str
    greeting: str
    color: str
    max_chars: int


class Ready(_Frame):
    type: Literal["ready"] = "ready"
    token: str
    config: WidgetConfig
    history: list[HistoryItem]


class Ack(_Frame):
    type: Literal["ack"] = "ack"
    id: str


class Token(_Frame):
    type: Literal["token"] = "token"
    text: str


class Typing(_Frame):
    type: Literal["typing"] = "typing"


class MessageOut(_Frame):
    type: Literal["message"] = "message"
    role: Literal["assistant", "agent"] = "assistant"  # the bot, or a sales rep
    text: str
    id: str


class Error(_Frame):
    type: Literal["error"] = "error"
    code: ErrorCode
    message: str
    id: str | None = None  # the refused message's client id


class Pong(_Frame):
    type: Literal["pong"] = "pong"


def frame(model: BaseModel) -> dict[str, Any]:
    """A server frame as the JSON-ready dict the consumer sends."""
    return model.model_dump(mode="json")
