"""Sending on Telegram: ``sendMessage`` (split at 4096 characters), ``sendDocument`` (a
quote's PDF, uploaded as ``multipart/form-data``, with its caption and an inline keyboard
whose one button carries the accept payload as ``callback_data``), ``sendChatAction`` and
``answerCallbackQuery`` (what stops the spinner on a pressed button).

Rate limits (429 with ``parameters.retry_after``), 5xx and network errors are
retried by :func:`channels_app.outbound.post_json`. Any other error is Telegram
refusing for good (the user blocked the bot, the chat does not exist): it is
returned as permanent with Telegram's description, and not retried.
The bot token is part of every URL: every error and log line is redacted with the
account's secrets (:meth:`ChannelAccount.redact`) before it is stored or logged.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from django.conf import settings

from channels_app.outbound import Outcome, post_json, post_multipart, shared_client, split_text
from channels_app.transport import QuoteDocument, SendResult

if TYPE_CHECKING:
    from agent.llm import TokenCallback
    from channels_app.models import ChannelAccount, ConversationRoute

logger = logging.getLogger(__name__)

MAX_CHARS = 4096  # sendMessage's limit on text length
MAX_CAPTION = 1024  # sendDocument's limit on a caption


def bot_id(account: ChannelAccount) -> str:
    """The bot's numeric id (the token's first part): it namespaces message ids, which
    Telegram numbers per chat, so two bots of one tenant never collide. The account key
    stands in when the token has no id."""
    head, sep, _ = account.bot_token.partition(":")
    return head if sep and head.isdigit() else account.key


def api_url(account: ChannelAccount, method: str) -> str:
    return f"{settings.TELEGRAM_API_BASE.rstrip('/')}/bot{account.bot_token}/{method}"


def chat_id_value(address: str) -> int | str:
    """A private chat's id as Telegram gives it (an integer); usernames stay strings."""
    return int(address) if address.lstrip("-").isdigit() else address


def outcome_error(outcome: Outcome, account: ChannelAccount) -> tuple[str, bool]:
    """``(reason, permanent)`` for a failed call: Telegram's description when it gave one."""
    if outcome.status is None:
        return account.redact(f"network error: {outcome.error}"), False
    body = outcome.body if isinstance(outcome.body, dict) else {}
    description = body.get("description")
    reason = str(description) if description else f"HTTP {outcome.status}"
    transient = outcome.status == 429 or outcome.status >= 500
    return account.redact(reason)[:1000], not transient


class TelegramTransport:
    async def send_text(
        self,
        route: ConversationRoute,
        text: str,
        *,
        role: str = "assistant",
        start: int = 0,
        author: str = "",
    ) -> SendResult:
        account = route.account
        pieces = split_text(text, MAX_CHARS)
        if not pieces:
            return SendResult(ok=False, error="empty message: nothing to send", permanent=True)
        url = api_url(account, "sendMessage")
        chat_id = chat_id_value(route.address)
        namespace = bot_id(account)
        sent: list[str] = []
        client = shared_client()
        for number, piece in enumerate(pieces, start=1):
            if number <= start:
                continue
            outcome = await post_json(client, url, {"chat_id": chat_id, "text": piece})
            message_id = _message_id(outcome)
            if message_id is None:
                where = f" (piece {number} of {len(pieces)})" if len(pieces) > 1 else ""
                return _failed(outcome, account, "sendMessage", sent, where)
            sent.append(f"tg-out:{namespace}:{route.address}:{message_id}")
        return SendResult(ok=True, external_ids=sent)

    async def send_quote(
        self,
        route: ConversationRoute,
        document: QuoteDocument,
        *,
        role: str = "assistant",
        start: int = 0,
        author: str = "",
    ) -> SendResult:
        """One ``sendDocument``: the PDF as an upload, the caption, and the inline button
        that accepts the quote (its ``callback_data`` is the accept payload). One piece."""
        if start >= 1:
            return SendResult(ok=True)  # an earlier attempt delivered it
        account = route.account
        keyboard = {
            "inline_keyboard": [
                [{"text": document.accept_label, "callback_data": document.accept_payload}]
            ]
        }
        fields = {
            "chat_id": str(chat_id_value(route.address)),
            "caption": document.caption[:MAX_CAPTION],
            "reply_markup": json.dumps(keyboard, ensure_ascii=False),
        }
        files = {"document": (document.filename, document.pdf, "application/pdf")}
        outcome = await post_multipart(
            shared_client(), api_url(account, "sendDocument"), fields, files
        )
        message_id = _message_id(outcome)
        if message_id is None:
            return _failed(outcome, account, "sendDocument", [], "")
        return SendResult(
            ok=True, external_ids=[f"tg-out:{bot_id(account)}:{route.address}:{message_id}"]
        )

    async def callback_answer(self, account: ChannelAccount, callback_query_id: str) -> bool:
        """``answerCallbackQuery`` (no text): the customer's button stops spinning. One
        attempt, best effort: never raises; True when Telegram took it."""
        payload = {"callback_query_id": callback_query_id}
        try:
            outcome = await post_json(
                shared_client(), api_url(account, "answerCallbackQuery"), payload
            )
        except Exception as exc:  # best effort
            logger.info("telegram answerCallbackQuery failed: %s", type(exc).__name__)
            return False
        if not outcome.ok:
            reason, _ = outcome_error(outcome, account)
            logger.info("telegram answerCallbackQuery for account %s: %s", account.pk, reason)
        return outcome.ok

    async def typing(self, route: ConversationRoute) -> None:
        """One ``sendChatAction`` (typing), no retries: a missed one does no harm."""
        account = route.account
        payload = {"chat_id": chat_id_value(route.address), "action": "typing"}
        try:
            client = shared_client()
            response = await client.post(api_url(account, "sendChatAction"), json=payload)
            if response.status_code != 200:
                logger.debug(
                    "telegram typing for account %s: HTTP %s", account.pk, response.status_code
                )
        except Exception as exc:  # best effort: never raises
            logger.debug(
                "telegram typing for account %s failed: %s", account.pk, type(exc).__name__
            )

    def token_callback(self, route: ConversationRoute) -> TokenCallback | None:
        return None  # a Telegram reply goes out whole, once written

    async def mark_read(self, route: ConversationRoute, external_id: str) -> None:
        return None  # bots cannot mark messages read on Telegram


def _failed(
    outcome: Outcome, account: ChannelAccount, method: str, sent: list[str], where: str
) -> SendResult:
    reason, permanent = outcome_error(outcome, account)
    if outcome.ok:
        reason, permanent = "unexpected answer from Telegram", False
    reason = f"{reason}{where}"
    logger.warning("telegram %s to account %s failed: %s", method, account.pk, reason)
    return SendResult(
        ok=False,
        external_ids=sent,
        error=reason,
        permanent=permanent,
        retry_after=outcome.retry_after,
    )


def _message_id(outcome: Outcome) -> int | None:
    if not outcome.ok or not isinstance(outcome.body, dict) or outcome.body.get("ok") is not True:
        return None
    result: Any = outcome.body.get("result")
    message_id = result.get("message_id") if isinstance(result, dict) else None
    return message_id if isinstance(message_id, int) else None


transport = TelegramTransport()
