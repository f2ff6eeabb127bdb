"""``POST /messages``: the CRM inbound API (``channels_app.api``) as an operation of v1."""

from __future__ import annotations

from typing import Literal

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field

from channels_app.api.schemas import MessageIn
from channels_app.api.views import api_message_answer
from integrations.api.auth import request_account
from integrations.api.schemas import QuoteOut

router = Router(tags=["messages"])


class ReplyOut(Schema):
    id: int
    text: str
    mode: str = Field(description="llm, or fallback when no LLM could answer.")


class MessageAnswerOut(Schema):
    message_id: int
    conversation_id: int
    conversation_status: Literal["active", "handed_off", "closed"]
    reply: ReplyOut | None = Field(
        description="The agent's reply; null when a rep has the conversation, or (202) "
        "while another worker is still answering: send the same request again."
    )
    quote: QuoteOut | None = Field(
        description="The quote sent with the reply (the agent sends one at once when the "
        "tenant allows it without a rep's approval), or the one this message accepted; "
        "null otherwise. A quote a rep sends later arrives as a quote.sent webhook.",
    )
    duplicate: bool = Field(description="This external_id was already stored.")


@router.post(
    "/messages",
    response={200: MessageAnswerOut, 202: MessageAnswerOut},
    summary="Send a customer's message; get the agent's reply",
)
async def messages_create(request: HttpRequest, payload: MessageIn) -> Status:
    """The message is stored first (once per ``external_id``: a retry never stores it
    twice) and answered in the request, one turn at a time per conversation. The contact
    is found or created by its CRM id, platform identity or e-mail, with its company and
    division. ``metadata`` reaches the agent as data, never as instructions."""
    status, body = await api_message_answer(account=request_account(request), data=payload)
    return Status(status, body)
