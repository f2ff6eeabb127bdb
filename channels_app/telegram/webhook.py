"""``POST /webhooks/telegram/<key>/``: Telegram delivers an Update for one bot.

The view verifies the secret token Telegram echoes in
``X-Telegram-Bot-Api-Secret-Token`` (set by ``manage.py set_telegram_webhook``),
parses the Update (every string made storable by ``channels_app.text``: a lone
surrogate or NUL becomes U+FFFD), stores a private chat's message as a raw event in one insert
(a redelivery is recognised by its message id) and answers 200. A worker then
resolves contact, conversation and message and writes the answer: no contact
lookup and no LLM call happen here.

A pressed inline button (``callback_query``) whose data is a quote's accept payload
(``channels_app.quotes``) is stored the same way, as the customer's message "✅ Accept
quote" (the button's label) with ``metadata["quote_accept"]`` = the quote's key (the
``update_id`` is its unique key: a redelivery is dropped); the inbox accepts the quote.
Every press, ours or not, gets its ``answerCallbackQuery`` from a worker (the task is
queued in the request's transaction); a press of any other button stores nothing.

Everything else (edits, channel posts, group chats, other bots, service messages) is
acknowledged with 200 and dropped, so Telegram does not redeliver it. A photo, voice
note or sticker without a caption is stored and answered, without a turn, with a short
note that only text is understood.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Mapping

from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext, override
from django.views.decorators.csrf import csrf_exempt
from pydantic import ValidationError

from channels_app.inbox import Inbound, Stored
from channels_app.ingest import Answer, Commit, Write, commit_now, error_answer, too_large
from channels_app.models import ChannelAccount
from channels_app.quotes import accepted_key
from channels_app.selectors import webhook_account
from channels_app.telegram.schemas import CallbackQuery, Message, Update
from channels_app.telegram.tasks import telegram_callback_answer_enqueue
from channels_app.telegram.transport import bot_id
from channels_app.text import JsonRefused, json_parse
from channels_app.webhooks import body_within_limit, error_body, field_details

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)


def _authentic(headers: Mapping[str, str], account: ChannelAccount) -> bool:
    given = headers.get(SECRET_HEADER.lower(), "")
    expected = account.webhook_secret
    return bool(given and expected) and hmac.compare_digest(given.encode(), expected.encode())


def _invalid(exc: ValidationError) -> Answer:
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    return error_answer(400, "not a Telegram Update", details=field_details(errors, most=20))


def _ignored(message: Message) -> str:
    """Why a message is not for the bot, or "" when it is."""
    if message.chat.type != "private":
        return f"{message.chat.type} chat"
    if message.from_user is not None and message.from_user.is_bot:
        return "sent by a bot"
    if message.readable_text is None and message.media_kind is None:
        return "service message"
    return ""


def _inbound(account: ChannelAccount, message: Message) -> Inbound:
    chat_id = message.chat.id
    text = message.readable_text
    return Inbound(
        address=str(chat_id),
        text=text if text is not None else f"[{message.media_kind}]",
        readable=text is not None,
        external_id=f"tg:{bot_id(account)}:{chat_id}:{message.message_id}",
        display_name=message.sender_name,
        language=message.language_code or "",
    )


async def telegram_receive(
    *, key: str, headers: Mapping[str, str], body: bytes | None, commit: Commit
) -> Answer:
    """Handle one POSTed Update. ``headers`` have lower-case names; ``body`` is None when
    it was larger than ``WEBHOOK_MAX_BYTES``; ``commit`` runs the write."""
    account = await webhook_account(kind=ChannelAccount.Kind.TELEGRAM, key=key)
    if account is None:
        return error_answer(404, "unknown webhook")
    if not _authentic(headers, account):
        logger.warning("telegram webhook for account %s: missing or wrong secret token", account.pk)
        return error_answer(403, f"missing or wrong {SECRET_HEADER}")
    if body is None:
        return too_large()
    try:
        update = Update.model_validate(json_parse(body))
    except JsonRefused as exc:
        return error_answer(400, str(exc))
    except ValidationError as exc:
        return _invalid(exc)

    if update.callback_query is not None:
        return await _button_pressed(account, update.update_id, update.callback_query, commit)
    message = update.message
    if message is None:
        return Answer(200, {"ok": True, "ignored": update.kind})
    reason = _ignored(message)
    if reason:
        return Answer(200, {"ok": True, "ignored": reason})
    stored = await commit(
        Write(account.tenant, account=account, inbounds=[_inbound(account, message)])
    )
    created = stored.stored > 0
    if not created:
        logger.info("telegram update %s for account %s: redelivery", update.update_id, account.pk)
    return Answer(200, {"ok": True, "duplicate": not created})


def _accept_label(account: ChannelAccount, query: CallbackQuery, data: str) -> str:
    """What the customer pressed, as their message reads: the button's label when Telegram
    sent the keyboard back, else "Accept quote" in the tenant's language."""
    label = query.message.button_text(data) if query.message is not None else None
    if label is None:
        with override(account.tenant.default_language):
            label = gettext("Accept quote")
    return f"✅ {label}"


async def _button_pressed(
    account: ChannelAccount, update_id: int, query: CallbackQuery, commit: Commit
) -> Answer:
    """A pressed inline button: an accept of a quote in a private chat is stored as the
    customer's message; every press is answered (from a worker)."""

    def answer(stored: Stored | None) -> Stored | None:
        if stored is None or stored.stored:
            telegram_callback_answer_enqueue(account=account, callback_query_id=query.id)
        return stored

    key = accepted_key(query.data)
    chat = query.message.chat if query.message is not None else None
    if key is None or chat is None or chat.type != "private" or query.from_user.is_bot:
        logger.info(
            "telegram button press for account %s ignored (data %r)", account.pk, query.data
        )
        await commit(Write(account.tenant, run=answer))
        return Answer(200, {"ok": True, "ignored": "callback_query"})
    inbound = Inbound(
        address=str(chat.id),
        text=_accept_label(account, query, query.data or ""),
        external_id=f"tg-cb:{bot_id(account)}:{update_id}",
        display_name=query.from_user.full_name or chat.full_name,
        metadata={"quote_accept": key},
        language=query.from_user.language_code or "",
    )
    stored = await commit(Write(account.tenant, account=account, inbounds=[inbound], run=answer))
    created = stored is not None and stored.stored > 0
    if not created:
        logger.info("telegram update %s for account %s: redelivery", update_id, account.pk)
    return Answer(200, {"ok": True, "duplicate": not created})


@csrf_exempt
async def telegram_webhook(request: HttpRequest, key: str) -> JsonResponse:
    """The same webhook through Django (the lean ASGI route in ``ingest`` serves it first)."""
    if request.method != "POST":
        response = JsonResponse(error_body("use POST"), status=405)
        response["Allow"] = "POST"
        return response
    headers = {name.lower(): value for name, value in request.headers.items()}
    answer = await telegram_receive(
        key=key, headers=headers, body=body_within_limit(request), commit=commit_now
    )
    return JsonResponse(answer.payload, status=answer.status)
