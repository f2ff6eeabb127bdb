"""Outbound WhatsApp through the Cloud API (Graph API ``/<phone_number_id>/messages``).

* :meth:`WhatsAppTransport.send_text` posts one text message per piece of
  ``split_text(text, 4096)`` through :func:`~channels_app.outbound.post_json` (429, 5xx
  and network errors retried, plus the Graph error codes that mean "slow down").
  Every other error is permanent (131047 outside the 24-hour window, 131026/131051
  undeliverable, 190 bad token…): ``SendResult(ok=False, permanent=True,
  error="<code>: <message>")``, no retry. The sent message's id comes back as
  ``"wa:<wamid>"``: the namespace inbound messages use, so the ``statuses``
  webhook finds the reply by it.
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

from channels_app.outbound import Outcome, post_json, shared_client, split_text
from channels_app.transport import SendResult

if TYPE_CHECKING:
    from agent.llm import TokenCallback
    from channels_app.models import ChannelAccount, ConversationRoute

logger = logging.getLogger(__name__)

NAMESPACE = "wa:"
MAX_CHARS = 4096
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


def _url(account: ChannelAccount) -> str:
    return f"{settings.WHATSAPP_API_BASE.rstrip('/')}/{account.phone_number_id}/messages"


def _headers(account: ChannelAccount) -> dict[str, str]:
    return {"Authorization": f"Bearer {account.access_token}"}


def recipient(address: str) -> dict[str, str]:
    """``to`` for a phone-number id, ``recipient`` for a business-scoped user id."""
    return {"recipient": address} if BSUID.match(address) else {"to": address}


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
        client = shared_client()
        for piece in split_text(text, MAX_CHARS)[start:]:
            payload = {
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                **recipient(route.address),
                "type": "text",
                "text": {"body": piece, "preview_url": False},
            }
            outcome = await post_json(
                client,
                _url(account),
                payload,
                headers=_headers(account),
                is_transient=_transient,
            )
            if not outcome.ok:
                result = _failure(outcome, sent, account)
                logger.warning("whatsapp send to account %s failed: %s", account.pk, result.error)
                return result
            messages = outcome.body.get("messages") if isinstance(outcome.body, dict) else None
            wamid = messages[0].get("id") if messages and isinstance(messages[0], dict) else None
            if wamid:
                sent.append(external_id(str(wamid)))
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
