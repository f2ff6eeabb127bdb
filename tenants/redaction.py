"""Secrets kept out of what we store and what we log: errors shown to reps, log lines.

:func:`redact` masks the secrets it is given (a channel account's tokens, the LLM key)
wherever they appear, as they are or URL-encoded, and anything shaped like a credential
whoever it belongs to: a Telegram bot token (also inside a Bot API URL, ``/bot<token>/``),
an ``Authorization`` value (``Bearer …``), a token or secret in a query string
(``access_token=``, ``hub.verify_token=``…), a Meta access token (``EAA…``), an
OpenAI-style key (``sk-…``), a password in a URL (``redis://:password@host``).

Apply it where an error or a log line is made, before it is stored or logged: a platform
that echoes the token it was sent must not put it in front of a rep.
:class:`RedactingFilter` does the same for the records of a library's logger that prints
URLs (httpx), where we do not write the message ourselves.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

MASK = "***"
# A shorter "secret" would mask ordinary words; real tokens are far longer.
MIN_SECRET_LENGTH = 6

CREDENTIAL_SHAPES: tuple[tuple[re.Pattern[str], str], ...] = (
    # Telegram puts the bot token in the URL path: https://api.telegram.org/bot<token>/getMe
    (re.compile(r"/bot\d+(?::|%3A)[^/\s?#\"']+", re.IGNORECASE), f"/bot{MASK}"),
    # A bare Telegram bot token: <bot id>:<35 characters>
    (re.compile(r"\b\d{3,}:[A-Za-z0-9_-]{20,}"), MASK),
    (
        re.compile(r"\b(Bearer|Basic|Token)(\s+|%20)[A-Za-z0-9._~+/=-]{6,}", re.IGNORECASE),
        rf"\1 {MASK}",
    ),
    (
        re.compile(
            r"([?&;](?:access_token|hub\.verify_token|verify_token|token|secret|api_key|"
            r"apikey|key|password)=)[^&\s#\"']+",
            re.IGNORECASE,
        ),
        rf"\1{MASK}",
    ),
    (re.compile(r"\bEAA[A-Za-z0-9]{16,}"), MASK),  # Meta (Facebook) access tokens
    (re.compile(r"\bsk-[A-Za-z0-9_-]{16,}"), MASK),  # OpenAI-style API keys
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://[^/\s:@]*:)[^/\s@]+@", re.IGNORECASE), rf"\1{MASK}@"),
)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with each of ``secrets`` and every credential-shaped string masked."""
    if not text:
        return text
    known = {s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH}
    for secret in sorted(known, key=len, reverse=True):
        for form in dict.fromkeys((secret, quote(secret, safe=""), quote_plus(secret))):
            text = text.replace(form, MASK)
    for pattern, replacement in CREDENTIAL_SHAPES:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Masks credentials in the message of every record of the logger it is added to."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


def loggers_redact(*names: str) -> None:
    """Add a :class:`RedactingFilter` to each named logger (once)."""
    for name in names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())
