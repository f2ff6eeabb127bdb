"""Quotes at the edge: the document a channel sends, and how an acceptance comes back.

* A reply that carries a quote has ``metadata["quote"] = {"key", "number"}`` (stored by
  ``quotes.services.quote_send``); :func:`quote_document` turns it into the
  :class:`~channels_app.transport.QuoteDocument` the channel's transport sends (the PDF
  rendered in the quote's language, the caption, the accept button and a signed link).
* Every accept button carries :func:`accept_payload` (``quote-accept:<key>``): Telegram's
  ``callback_data``, WhatsApp's reply button id, the widget's frame. The channel stores
  the press as a customer message with ``metadata["quote_accept"] = <key>``, durable like
  any inbound message; the inbox then accepts the quote before the agent answers.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext, override

from channels_app.transport import QuoteDocument
from quotes.links import quote_download_url
from quotes.selectors import quote_by_key

ACCEPT_PREFIX = "quote-accept:"


class QuoteMissing(LookupError):
    """The quote a reply carries is gone (deleted): the reply cannot be sent."""


def accept_payload(key: str) -> str:
    return ACCEPT_PREFIX + key


def accepted_key(payload: str | None) -> str | None:
    """The quote key of an accept button's payload, or None for any other payload."""
    if payload and payload.startswith(ACCEPT_PREFIX):
        key = payload[len(ACCEPT_PREFIX) :]
        return key if 0 < len(key) <= 32 else None
    return None


def quote_reference(metadata: Any) -> dict[str, Any] | None:
    quote = metadata.get("quote") if isinstance(metadata, dict) else None
    return quote if isinstance(quote, dict) and quote.get("key") else None


def quote_document(*, message: Any) -> QuoteDocument | None:
    """The document of a reply that carries a quote; None for any other reply."""
    reference = quote_reference(message.metadata)
    if reference is None:
        return None
    quote = quote_by_key(tenant=message.conversation.tenant, key=str(reference["key"]))
    if quote is None:
        raise QuoteMissing(f"not sent: quote {reference.get('number')} no longer exists")
    from quotes.pdf import quote_pdf_render

    with override(quote.language):
        label = gettext("Accept quote")
    return QuoteDocument(
        key=quote.public_key,
        reference=quote.reference,
        filename=f"{quote.reference}.pdf",
        pdf=quote_pdf_render(quote),
        caption=message.content,
        accept_label=label,
        accept_payload=accept_payload(quote.public_key),
        download_url=quote_download_url(quote),
    )
