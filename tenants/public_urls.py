"""Absolute URLs on ``PUBLIC_BASE_URL``: every URL the product prints or shows (commands,
the admin's channel page, e-mails) is built here, never from a request's Host header or
a hard-coded port."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from django.conf import settings


def public_url(path: str = "/") -> str:
    """``path`` on the public base URL (``http://127.0.0.1:8111`` + ``/admin/``)."""
    return str(settings.PUBLIC_BASE_URL).rstrip("/") + "/" + path.lstrip("/")


def public_websocket_url(path: str) -> str:
    """``path`` as a WebSocket URL on the public host: ``ws://`` for an ``http://`` base,
    ``wss://`` for ``https://``."""
    parts = urlsplit(public_url(path))
    scheme = "wss" if parts.scheme == "https" else "ws"
    return urlunsplit((scheme, parts.netloc, parts.path, parts.query, parts.fragment))
