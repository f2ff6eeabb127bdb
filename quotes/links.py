"""Signed, expiring download links for a quote's PDF (sent in the widget's chat).

The link carries the quote's public key signed with ``SECRET_KEY`` (Django's
``TimestampSigner``, salted for this use); it works for ``QUOTE_LINK_MAX_AGE`` seconds
(7 days by default) and for nothing but that quote. The view serving it lives at the
edge (``channels_app``) and answers 404 for a link that is forged or too old.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.urls import reverse

from quotes.models import Quote
from tenants.public_urls import public_url

_SALT = "quotes.download"


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=_SALT)


def quote_download_token(quote: Quote) -> str:
    return _signer().sign(quote.public_key)


def quote_download_url(quote: Quote) -> str:
    """The public, absolute URL of the quote's PDF (``PUBLIC_BASE_URL`` based)."""
    return public_url(reverse("quote-download", args=[quote_download_token(quote)]))


def quote_key_from_token(token: str) -> str | None:
    """The quote key a download token was made for; None when forged or expired."""
    max_age = int(getattr(settings, "QUOTE_LINK_MAX_AGE", 7 * 24 * 3600))
    try:
        return _signer().unsign(token, max_age=max_age)
    except signing.BadSignature:  # SignatureExpired is a BadSignature
        return None
