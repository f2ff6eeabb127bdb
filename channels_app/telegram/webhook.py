"""``POST /webhooks/telegram/<key>/``: Telegram delivers an Update for one bot.

The view verifies the secret token Telegram echoes in
``X-Telegram-Bot-Api-Secret-Token`` (set by ``manage.py set_telegram_webhook``),
parses the Update, stores a private chat's message as a raw event in one insert
(a redelivery is recognised by its message id) and answers 200. A worker then
resolves contact, conversation and message and writes the answer: no contact
lookup and no LLM call happen here.

Everything else (edits, channel posts, button presses, group chats, other bots,
service messages) is acknowledged with 200 and dropped, so Telegram does not
redeliver it. A photo, voice note or sticker without a caption is stored and
answered, without a turn, with a short note that only text is understood.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any

from asgiref.sync import sync_to_async
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from pydantic import ValidationError

from channels_app.inbox import Inbound, inbound_events_store
from channels_app.models import ChannelAccount
from channels_app.selectors import channel_account_for_key
from channels_app.tasks import inbound_resolve_enqueue
from channels_app.telegram.schemas import Message, Update
from channels_app.telegram.transport import bot_id
from channels_app.webhooks import body_within_limit, field_details, too_large_reason
from tenants.scoping import tenant_scope

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)


def _error(status: int, message: str, **extra: Any) -> JsonResponse:
    return JsonResponse({"ok": False, "error": message, **extra}, status=status)


def _authentic(request: HttpRequest, account: ChannelAccount) -> bool:
    given = request.headers.get(SECRET_HEADER, "")
    expected = account.webhook_secret
    return bool(given and expected) and hmac.compare_digest(given.encode(), expected.encode())


def _invalid(exc: ValidationError) -> JsonResponse:
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    if any(e["type"] == "json_invalid" for e in errors):
        return _error(400, f"malformed JSON: {errors[0]['msg']}")
    return _error(400, "not a Telegram Update", details=field_details(errors, most=20))


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


def _store(account: ChannelAccount, message: Message) -> bool:
    """Store the message as an event in the account's tenant; True when it is new."""
    with tenant_scope(account.tenant):
        stored = inbound_events_store(account=account, inbounds=[_inbound(account, message)])
        inbound_resolve_enqueue(account=account, addresses=stored.addresses)
    return stored.stored > 0


@csrf_exempt
async def telegram_webhook(request: HttpRequest, key: str) -> JsonResponse:
    if request.method != "POST":
        response = _error(405, "use POST")
        response["Allow"] = "POST"
        return response
    account = await sync_to_async(channel_account_for_key)(
        kind=ChannelAccount.Kind.TELEGRAM, key=key
    )
    if account is None:
        return _error(404, "unknown webhook")
    if not _authentic(request, account):
        logger.warning("telegram webhook for account %s: missing or wrong secret token", account.pk)
        return _error(403, f"missing or wrong {SECRET_HEADER}")
    body = body_within_limit(request)
    if body is None:
        return _error(413, too_large_reason())
    try:
        update = Update.model_validate_json(body)
    except ValidationError as exc:
        return _invalid(exc)

    message = update.message
    if message is None:
        return JsonResponse({"ok": True, "ignored": update.kind})
    reason = _ignored(message)
    if reason:
        return JsonResponse({"ok": True, "ignored": reason})
    created = await sync_to_async(_store)(account, message)
    if not created:
        logger.info("telegram update %s for account %s: redelivery", update.update_id, account.pk)
    return JsonResponse({"ok": True, "duplicate": not created})
