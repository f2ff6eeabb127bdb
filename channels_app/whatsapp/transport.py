"""Outbound WhatsApp through the Cloud API (Graph API ``/<phone_number_id>/messages``).

* :meth:`WhatsAppTransport.send_text` posts one text message per piece of
  ``split_text(text, 4096)`` through :func:`~channels_app.outbound.post_json` (429, 5xx
  and network errors retried, plus the Graph error codes that mean "slow down").
  Every other error is permanent (131047 outside the 24-hour window, 131026/131051
  undeliverable, 190 bad token…): ``SendResult(ok=False, permanent=True,
  error="<code>: <message>")``, no retry. The sent message's id comes back as
  ``"wa:<wamid>"``: the namespace inbound messages use, so the ``statuses``
  webhook finds the reply by it.
* :meth:`WhatsAppTransport.send_quote` sends a quote in two pieces: the PDF (uploaded
  to ``/<phone_number_id>/media``, then sent as a ``document`` message with its filename
  and caption), then an ``interactive`` reply-button message whose one button's id is the
  accept payload (its title, at most 20 characters, the accept label). A retry starts at
  the piece that failed: the document is never sent twice.
* :meth:`WhatsAppTransport.mark_read` sends the read receipt with the typing
  indicator (the Cloud API shows "typing…" until the reply or 25 s): one attempt,
  never raises. :meth:`WhatsAppTransport.typing` is therefore a no-op: the Cloud
  API has no typing call of its own, it rides on a read receipt.

A recipient is a phone-number id (``wa_id``, digits) sent as ``to``, or a
business-scoped user id (``US.1349…``) sent as ``recipient``, as the Cloud API
asks for BSUIDs. The access token goes in the ``Authorization`` header only; every error
and log line is redacted with the account's secrets (:meth:`ChannelAccount.redact`): a
Graph error may echo the token it was sent.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

from django.conf import settings

from channels_app.outbound import Outcome, post_json, post_multipart, shared_client, split_text
from channels_app.transport import QuoteDocument, SendResult

if TYPE_CHECKING:
    from agent.llm import TokenCallback
    from channels_app.models import ChannelAccount, ConversationRoute

logger = logging.getLogger(__name__)

NAMESPACE = "wa:"
MAX_CHARS = 4096
MAX_CAPTION = 1024  # a document's caption, an interactive message's body
MAX_BUTTON_TITLE = 20
# Graph error codes that mean "try again later" (rate limits, throughput, a hiccup).
TRANSIENT_CODES = frozenset({1, 2, 4, 80007, 130429, 131000, 131016, 131056, 133004})
BSUID = re.compile(r"^[A-Z]{2}\.(?:ENT\.)?[A-Za-z0-9]+$")


def external_id(wamid: str) -> str:
    """How a WhatsApp message id is stored in ``Message.external_id``."""
    return f"{NAMESPACE}{wamid}"


def wamid_of(stored: str) -> str:
    return stored.removeprefix(NAMESPACE)


def error_of(body: Any) -> tuple[int | None, str]:
    """The Graph error's code and message (``{"error": {"code", "message", …}}``)."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None, str(body)[:300] if body else ""
    code = error.get("code")
    message = str(error.get("message") or error.get("type") or "error")
    details = (error.get("error_data") or {}).get("details")
    if isinstance(details, str) and details and details not in message:
        message = f"{message} ({details})"
    return (code if isinstance(code, int) else None), message[:500]


def _transient(status: int, body: Any) -> bool:
    code, _ = error_of(body)
    return code in TRANSIENT_CODES


def _url(account: ChannelAccount, edge: str = "messages") -> str:
    return f"{settings.WHATSAPP_API_BASE.rstrip('/')}/{account.phone_number_id}/{edge}"


def _headers(account: ChannelAccount) -> dict[str, str]:
    return {"Authorization": f"Bearer {account.access_token}"}


def recipient(address: str) -> dict[str, str]:
    """``to`` for a phone-number id, ``recipient`` for a business-scoped user id."""
    return {"recipient": address} if BSUID.match(address) else {"to": address}


async def _send(account: ChannelAccount, address: str, message: dict[str, Any]) -> Outcome:
    payload = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        **recipient(address),
        **message,
    }
    return await post_json(
        shared_client(), _url(account), payload, headers=_headers(account), is_transient=_transient
    )


async def _upload(account: ChannelAccount, document: QuoteDocument) -> Outcome:
    """``POST /<phone_number_id>/media``: the PDF as a multipart upload; its id comes back."""
    fields = {"messaging_product": "whatsapp", "type": "application/pdf"}
    files = {"file": (document.filename, document.pdf, "application/pdf")}
    return await post_multipart(
        shared_client(),
        _url(account, "media"),
        fields,
        files,
        headers=_headers(account),
        is_transient=_transient,
    )


def _wamid(outcome: Outcome) -> str | None:
    messages = outcome.body.get("messages") if isinstance(outcome.body, dict) else None
    wamid = messages[0].get("id") if messages and isinstance(messages[0], dict) else None
    return str(wamid) if wamid else None


def _piece(outcome: Outcome, account: ChannelAccount, sent: list[str]) -> SendResult | None:
    """Record one sent piece of a quote in ``sent``; the failure to return, or None. A
    piece WhatsApp took without naming it is a failure for good: sending it again could
    send it twice, and a retry must know where to start."""
    wamid = _wamid(outcome) if outcome.ok else None
    if wamid is None:
        if outcome.ok:
            error = "unexpected answer from WhatsApp: no message id"
            return SendResult(ok=False, external_ids=sent, error=error, permanent=True)
        return _failed(outcome, sent, account)
    sent.append(external_id(wamid))
    return None


def _failed(
    outcome: Outcome, sent: list[str], account: ChannelAccount, what: str = "send"
) -> SendResult:
    if outcome.ok:  # an upload answered without a media id
        result = SendResult(
            ok=False, external_ids=sent, error="unexpected answer from WhatsApp: no media id"
        )
    else:
        result = _failure(outcome, sent, account)
    logger.warning("whatsapp %s for account %s failed: %s", what, account.pk, result.error)
    return result


def _failure(outcome: Outcome, sent: list[str], account: ChannelAccount) -> SendResult:
    if outcome.status is None:
        error = account.redact(f"network: {outcome.error}")
        return SendResult(ok=False, external_ids=sent, error=error)
    code, message = error_of(outcome.body)
    transient = outcome.status in (429, 500, 502, 503, 504) or code in TRANSIENT_CODES
    label = code if code is not None else f"HTTP {outcome.status}"
    return SendResult(
        ok=False,
        external_ids=sent,
        error=account.redact(f"{label}: {message}"),
        permanent=not transient,
        retry_after=outcome.retry_after,
    )


class WhatsAppTransport:
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
        sent: list[str] = []
        for piece in split_text(text, MAX_CHARS)[start:]:
            outcome = await _send(
                account,
                route.address,
                {"type": "text", "text": {"body": piece, "preview_url": False}},
            )
            if not outcome.ok:
                return _failed(outcome, sent, account)
            wamid = _wamid(outcome)
            if wamid:
                sent.append(external_id(wamid))
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
        """Piece 0: the PDF uploaded, then sent as a document; piece 1: the accept button."""
        account = route.account
        caption = document.caption[:MAX_CAPTION]
        sent: list[str] = []
        if start < 1:
            outcome = await _upload(account, document)
            media_id = outcome.body.get("id") if isinstance(outcome.body, dict) else None
            if not outcome.ok or not media_id:
                return _failed(outcome, sent, account, "upload")
            content = {"id": str(media_id), "filename": document.filename, "caption": caption}
            outcome = await _send(account, route.address, {"type": "document", "document": content})
            piece = _piece(outcome, account, sent)
            if isinstance(piece, SendResult):
                return piece
        button = {"id": document.accept_payload, "title": document.accept_label[:MAX_BUTTON_TITLE]}
        interactive = {
            "type": "button",
            "body": {"text": caption or document.reference},
            "action": {"buttons": [{"type": "reply", "reply": button}]},
        }
        outcome = await _send(
            account, route.address, {"type": "interactive", "interactive": interactive}
        )
        piece = _piece(outcome, account, sent)
        if isinstance(piece, SendResult):
            return piece
        return SendResult(ok=True, external_ids=sent)

    async def mark_read(self, route: ConversationRoute, external_id: str) -> None:
        """Read receipt plus typing indicator for a customer's message; one attempt."""
        account = route.account
        payload = {
            "messaging_product": "whatsapp",
            "status": "read",
            "message_id": wamid_of(external_id),
            "typing_indicator": {"type": "text"},
        }
        try:
            client = shared_client()
            response = await client.post(_url(account), json=payload, headers=_headers(account))
            if response.status_code >= 400:
                code, message = error_of(response.json() if response.content else None)
                logger.info(
                    "whatsapp mark read: HTTP %s %s: %s",
                    response.status_code,
                    code,
                    account.redact(message),
                )
        except Exception as exc:  # best effort: a read receipt never stops a reply
            logger.info("whatsapp mark read failed: %s", type(exc).__name__)

    async def typing(self, route: ConversationRoute) -> None:
        """No-op: the typing indicator goes with the read receipt (see :meth:`mark_read`)."""

    def token_callback(self, route: ConversationRoute) -> TokenCallback | None:
        return None  # WhatsApp cannot edit a message as it streams


transport = WhatsAppTransport()
