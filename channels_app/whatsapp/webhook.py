"""``/webhooks/whatsapp/<key>/``: the WhatsApp Cloud API webhook of one channel account.

GET is Meta's subscription check: ``hub.mode=subscribe`` and the account's verify
token answer ``hub.challenge`` as text; anything else is 403.

POST is a notification. In order: the account (404), the size (413), the
``X-Hub-Signature-256`` HMAC-SHA256 of the raw body with the account's app secret
(403, before anything is parsed), JSON (400; every string made storable by
``channels_app.text``: a lone surrogate or NUL becomes U+FFFD), the envelope (400 with
the reason).
Then, in the account's tenant scope, every message of every change is stored as a
raw event, all in one insert (its ``wamid`` as ``"wa:<wamid>"``: a redelivery is
recognised), and every status updates our reply's delivery status. The request
answers 200 with counts; a worker resolves each chat's events in order (one task per
chat, however many messages the POST held) and the agent's turn runs there.

What is read as text: ``text``, interactive ``button_reply``/``list_reply`` titles,
the legacy template ``button`` text, and a media caption (``"[image] <caption>"``).
A reply button whose id (or a template button whose payload) is a quote's accept payload
(``channels_app.quotes``) is stored as its title with ``metadata["quote_accept"]`` = the
quote's key: the inbox accepts the quote.
A message the bot cannot read (media without caption, location, contacts, reaction,
order, ``unsupported``…) is stored as ``"[<type>]"`` and answered with a short
polite note that only text is understood. ``system`` messages (the customer changed
number) are notices from WhatsApp, not from the customer: they are ignored.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from pydantic import ValidationError

from channels_app.inbox import Inbound, Stored, delivery_status_update
from channels_app.ingest import Answer, Commit, Write, commit_now, error_answer, too_large
from channels_app.models import ChannelAccount
from channels_app.quotes import accepted_key
from channels_app.selectors import webhook_account
from channels_app.text import JsonRefused, json_parse
from channels_app.webhooks import body_within_limit, field_details
from channels_app.whatsapp import schemas
from channels_app.whatsapp.transport import external_id

logger = logging.getLogger(__name__)

IGNORED_TYPES = frozenset({"system"})
STATUSES = frozenset({"sent", "delivered", "read", "failed"})


def _django(answer: Answer) -> JsonResponse:
    return JsonResponse(answer.payload, status=answer.status)


@csrf_exempt
async def whatsapp_webhook(request: HttpRequest, key: str) -> HttpResponse:
    """GET verification here; POST through :func:`whatsapp_receive` (the lean ASGI route
    in ``ingest`` serves POSTs first)."""
    if request.method == "POST":
        headers = {name.lower(): value for name, value in request.headers.items()}
        raw = body_within_limit(request)
        return _django(
            await whatsapp_receive(key=key, headers=headers, body=raw, commit=commit_now)
        )
    account = await webhook_account(kind=ChannelAccount.Kind.WHATSAPP, key=key)
    if account is None:
        return _django(error_answer(404, "unknown webhook"))
    if request.method == "GET":
        return _verify(request, account)
    return _django(error_answer(405, "use GET (verification) or POST (notifications)"))


async def whatsapp_receive(
    *, key: str, headers: Mapping[str, str], body: bytes | None, commit: Commit
) -> Answer:
    """Handle one POSTed notification. ``headers`` have lower-case names; ``body`` is None
    when it was larger than ``WEBHOOK_MAX_BYTES``; ``commit`` runs the write."""
    account = await webhook_account(kind=ChannelAccount.Kind.WHATSAPP, key=key)
    if account is None:
        return error_answer(404, "unknown webhook")
    if body is None:
        return too_large()
    if not signature_valid(body, headers.get("x-hub-signature-256", ""), account):
        logger.warning("whatsapp webhook %s: missing or wrong signature", account.pk)
        return error_answer(403, "missing or invalid X-Hub-Signature-256")
    try:
        data = json_parse(body)
    except JsonRefused as exc:
        return error_answer(400, str(exc))
    try:
        notification = schemas.Notification.model_validate(data)
    except (ValidationError, RecursionError) as exc:
        details = (
            field_details(exc.errors(include_url=False, include_input=False), most=10)
            if isinstance(exc, ValidationError)
            else []
        )
        return error_answer(
            400,
            "not a WhatsApp Business Account notification: expected "
            '{"object": "whatsapp_business_account", "entry": [{"changes": [{"value": {…}}]}]}',
            details=details,
        )
    inbounds, statuses, counts = notification_read(account=account, notification=notification)

    def finish(stored: Stored | None) -> Counts:
        if stored is not None:
            counts.stored, counts.duplicates = stored.stored, stored.duplicates
        return statuses_apply(account=account, statuses=statuses, counts=counts)

    counts = await commit(
        Write(account.tenant, account=account if inbounds else None, inbounds=inbounds, run=finish)
    )
    return Answer(200, {"ok": True, **counts.as_dict()})


def _verify(request: HttpRequest, account: ChannelAccount) -> HttpResponse:
    mode = request.GET.get("hub.mode", "")
    token = request.GET.get("hub.verify_token", "")
    expected = account.verify_token
    if (
        mode != "subscribe"
        or not expected
        or not hmac.compare_digest(token.encode(), expected.encode())
    ):
        return _django(error_answer(403, "verification failed"))
    challenge = request.GET.get("hub.challenge")
    if challenge is None:
        return _django(error_answer(400, "missing hub.challenge"))
    return HttpResponse(challenge, content_type="text/plain")


def signature_valid(raw: bytes, header: str, account: ChannelAccount) -> bool:
    """``header`` is ``"sha256=" + hex(HMAC-SHA256(app_secret, raw))``."""
    if not account.app_secret or not header.startswith("sha256="):
        return False
    expected = hmac.new(account.app_secret.encode(), raw, hashlib.sha256).hexdigest()
    return hmac.compare_digest(f"sha256={expected}".encode(), header.encode())


# Storing, in the tenant's scope ------------------------------------------------------------


@dataclass
class Counts:
    stored: int = 0
    duplicates: int = 0
    statuses: int = 0
    ignored: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "stored": self.stored,
            "duplicates": self.duplicates,
            "statuses": self.statuses,
            "ignored": self.ignored,
        }


def notification_read(
    *, account: ChannelAccount, notification: schemas.Notification
) -> tuple[list[Inbound], list[schemas.Status], Counts]:
    """The customer messages and the delivery statuses of this account's number."""
    counts = Counts()
    inbounds: list[Inbound] = []
    statuses: list[schemas.Status] = []
    for entry in notification.entry:
        for change in entry.changes:
            value = change.value
            number = value.metadata.phone_number_id
            if number and account.phone_number_id and number != account.phone_number_id:
                # Another number of the same WhatsApp Business Account: not this channel's.
                counts.ignored += len(value.messages) + len(value.statuses)
                continue
            for message in value.messages:
                inbound = _inbound(value, message)
                if inbound is None:
                    counts.ignored += 1
                else:
                    inbounds.append(inbound)
            statuses += value.statuses
    return inbounds, statuses, counts


def statuses_apply(
    *, account: ChannelAccount, statuses: list[schemas.Status], counts: Counts
) -> Counts:
    """Apply the delivery statuses to our replies; the counts of the whole request."""
    for status in statuses:
        _status_store(account, status, counts)
    if counts.ignored:
        logger.info("whatsapp webhook %s: %d item(s) ignored", account.pk, counts.ignored)
    return counts


def _sender(value: schemas.Value, message: schemas.Message) -> tuple[str, str]:
    """``(address, display name)``: the wa_id when there is one, else the BSUID."""
    contact = next(
        (
            c
            for c in value.contacts
            if (message.from_ and c.wa_id == message.from_)
            or (message.from_user_id and c.user_id == message.from_user_id)
        ),
        value.contacts[0] if len(value.contacts) == 1 else None,
    )
    wa_id = message.from_ or (contact.wa_id if contact else None)
    user_id = message.from_user_id or (contact.user_id if contact else None)
    name = (contact.profile.name or contact.profile.username) if contact else ""
    return wa_id or user_id or "", name


def readable_text(message: schemas.Message) -> str | None:
    """What the bot reads of the message, or None when it cannot read it."""
    if message.type == "text" and message.text and message.text.body.strip():
        return message.text.body
    if message.type == "interactive" and message.interactive:
        reply = message.interactive.button_reply or message.interactive.list_reply
        if reply and (reply.title or reply.description):
            return " - ".join(p for p in (reply.title, reply.description) if p)
    if (
        message.type == "button"
        and message.button
        and (message.button.text or message.button.payload)
    ):
        return message.button.text or message.button.payload
    media = message.media()
    if media is not None and media.caption.strip():
        return f"[{message.type}] {media.caption}"
    return None


def quote_accepted(message: schemas.Message) -> str | None:
    """The key of the quote a pressed button accepts, or None."""
    if message.type == "interactive" and message.interactive and message.interactive.button_reply:
        return accepted_key(message.interactive.button_reply.id)
    if message.type == "button" and message.button:
        return accepted_key(message.button.payload)
    return None


def _inbound(value: schemas.Value, message: schemas.Message) -> Inbound | None:
    """The message as the inbox stores it, or None when it is not the customer's."""
    if message.type in IGNORED_TYPES:
        return None
    address, name = _sender(value, message)
    if not address:
        return None
    text = readable_text(message)
    key = quote_accepted(message)
    return Inbound(
        address=address,
        text=text if text is not None else f"[{message.type}]",
        readable=text is not None,
        external_id=external_id(message.id),
        display_name=name,
        metadata={"quote_accept": key} if key else {},
    )


def _status_store(account: ChannelAccount, status: schemas.Status, counts: Counts) -> None:
    if status.status not in STATUSES:
        counts.ignored += 1
        return
    error = status.errors[0].describe() if status.errors else ""
    changed = delivery_status_update(
        tenant=account.tenant,
        external_id=external_id(status.id),
        status=status.status,
        error=error,
    )
    if changed:
        counts.statuses += 1
    else:
        counts.ignored += 1
