"""``POST /api/v1/messages``: a CRM sends a customer's message and gets the agent's reply.

The operation is part of the REST API v1 (``integrations.api.messages``: its
authentication by the API key of a CRM API channel account, ``Authorization: Bearer
sk_…``, its rate limits and its problem+json errors); this module answers. The message
is stored first (idempotent by ``external_id``), then answered in the request through
the same inbox a webhook uses (one turn at a time per conversation). The answer is 200
with the reply, or 202 when another worker is still answering the conversation (send
the same request again to collect the reply: a repeated ``external_id`` is never stored
twice).

Answers (JSON):

* 200 ``{"message_id", "conversation_id", "conversation_status", "reply": {"id",
  "text", "mode"}, "duplicate"}``: the agent's reply (``mode`` ``llm``, or
  ``fallback`` when no LLM could answer; the conversation is then flagged for a rep).
  ``duplicate`` is true when this ``external_id`` was already stored.
* ``"quote"``: the quote the turn sent with its reply (the agent sends one at once when
  the tenant allows sending without a rep's approval), or the one the customer's message
  accepted in the chat, as the :class:`~quotes.models.Quote` row with its lines (the REST
  API shows it as ``GET /api/v1/quotes/{id}`` does); null otherwise. A quote a rep sends
  later in the conversation reaches the CRM as a ``quote.sent`` webhook.
* 200 with ``"reply": null``: the message was stored and a sales rep has the
  conversation (``conversation_status`` ``handed_off`` or ``closed``): no bot reply.
* 202 with ``"reply": null``: another worker is still answering the conversation.
* Errors are RFC 9457 problems (``{"type", "title", "status", "detail"}``): 400
  malformed JSON, or a number no column holds (an integer past 4,300 digits, ``1e999``,
  ``NaN``); 401 missing or invalid key; 405 not POST; 413 body larger than
  ``WEBHOOK_MAX_BYTES``; 422 with ``errors: [{"field", "message"}]``; 429 past the
  key's rate limit. Nothing is stored on a 4xx. A lone surrogate or NUL in any string is
  stored as U+FFFD (``channels_app.text``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings

from channels_app.api.schemas import MessageIn
from channels_app.api.services import api_message_store, reply_for, turn_quote
from channels_app.inbox import conversation_answer
from channels_app.models import ChannelAccount
from crm.models import Conversation, Message
from quotes.models import Quote

logger = logging.getLogger(__name__)
POLL_EVERY = 0.25
REPLY_WAIT_MARGIN = 10.0  # seconds past LLM_TURN_TIMEOUT to wait for another worker's reply


def _result(
    message: Message, reply: Message | None, conversation: Conversation, quote: Quote | None
) -> dict[str, Any]:
    return {
        "message_id": message.pk,
        "conversation_id": conversation.pk,
        "conversation_status": conversation.status,
        "reply": None
        if reply is None
        else {"id": reply.pk, "text": reply.content, "mode": reply.answer_mode},
        "quote": quote,
    }


async def api_message_answer(
    *, account: ChannelAccount, data: MessageIn
) -> tuple[int, dict[str, Any]]:
    """Store the CRM's message and answer it: ``(status, body)``, 200 with the reply (or
    none, with a rep), 202 while another worker answers. The caller holds the scope of
    ``account``'s tenant."""
    tenant = account.tenant
    message, created = await sync_to_async(api_message_store)(account=account, data=data)
    reply = await sync_to_async(reply_for)(message=message)
    if reply is None and message.handled_at is None:
        await conversation_answer(tenant=tenant, conversation_id=message.conversation_id)
        reply = await _wait_for_reply(message)
    conversation = await Conversation.objects.aget(pk=message.conversation_id)
    # taken: answered, or left to the rep who has the conversation
    taken = await Message.objects.filter(pk=message.pk, handled_at__isnull=False).aexists()
    if reply is None and taken:  # a turn may have committed since the last look
        reply = await sync_to_async(reply_for)(message=message)
    quote = None if reply is None else await sync_to_async(turn_quote)(tenant=tenant, reply=reply)
    body = {**_result(message, reply, conversation, quote), "duplicate": not created}
    return (200 if reply is not None or taken else 202), body


async def _wait_for_reply(message: Message) -> Message | None:
    """The reply, waiting while another worker answers this conversation."""
    deadline = time.monotonic() + settings.LLM_TURN_TIMEOUT + REPLY_WAIT_MARGIN
    while True:
        reply = await sync_to_async(reply_for)(message=message)
        if reply is not None:
            return reply
        handled = await Message.objects.filter(pk=message.pk, handled_at__isnull=False).aexists()
        if handled or time.monotonic() > deadline:
            return None  # with a rep (no bot reply), or still being answered: 202
        await asyncio.sleep(POLL_EVERY)
