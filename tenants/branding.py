"""A tenant's logo: where uploads go, what they may be, and how they are served.

Pillow is not a dependency, so images are recognised by their first bytes
(content sniffing) and must match their extension. SVG is allowed because
logos are often vector images; it is refused when it carries script, event
handlers or entities, and it is served with a Content-Security-Policy that
forbids scripts anyway (browsers never run script in an ``<img>``).
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

LOGO_DIR = "tenant_logos"
LOGO_MAX_BYTES = 512 * 1024
LOGO_CONTENT_TYPES: dict[str, str] = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "svg": "image/svg+xml",
}
LOGO_ACCEPT = ",".join([*(f".{ext}" for ext in LOGO_CONTENT_TYPES), "image/*"])
# Served headers: nothing in the file may load or run anything.
LOGO_CSP = "default-src 'none'; style-src 'unsafe-inline'"
LOGO_FILE_NAME = re.compile(r"[A-Za-z0-9_-]{16,64}\.(?:png|jpe?g|webp|svg)")

_SVG_PROLOGUE = re.compile(
    r"""\A(?:\s|<\?xml[^>]*\?>|<!--.*?-->|<!DOCTYPE\s+svg[^>\[]*>)*<svg[\s>]""",
    re.IGNORECASE | re.DOTALL,
)
_SVG_FORBIDDEN = re.compile(
    r"<script|<foreignobject|<!entity|<iframe|<embed|<object|javascript:|\son[a-z]+\s*=",
    re.IGNORECASE,
)


def logo_upload_to(instance: Any, filename: str) -> str:
    """A random name per upload: the URL is not guessable and changes with the logo."""
    suffix = Path(filename).suffix.lower()
    return f"{LOGO_DIR}/{secrets.token_urlsafe(18)}{suffix}"


def logo_kind(head: bytes) -> str | None:
    """The image format the bytes start with ("png", "jpeg", "webp", "svg"), or None."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    if "\x00" not in text and _SVG_PROLOGUE.match(text):
        return "svg"
    return None


def _extension(name: str) -> str:
    return Path(name).suffix.lower().lstrip(".")


def validate_logo(value: Any) -> None:
    """Extension, size and content of a newly uploaded logo (stored ones were checked)."""
    if getattr(value, "_committed", False):
        return
    extension = _extension(value.name or "")
    if extension not in LOGO_CONTENT_TYPES:
        raise ValidationError(
            _("Upload a PNG, JPEG, SVG or WebP image (got %(ext)s)."),
            code="logo_extension",
            params={"ext": f".{extension}" if extension else gettext("no extension")},
        )
    if value.size > LOGO_MAX_BYTES:
        raise ValidationError(
            _("The logo is larger than %(kb)d KB."),
            code="logo_size",
            params={"kb": LOGO_MAX_BYTES // 1024},
        )
    value.seek(0)
    content = value.read(LOGO_MAX_BYTES + 1)
    value.seek(0)
    kind = logo_kind(content)
    expected = "jpeg" if extension == "jpg" else extension
    if kind != expected:
        raise ValidationError(
            _("The file is not a %(ext)s image."),
            code="logo_content",
            params={"ext": extension.upper()},
        )
    if kind == "svg" and _SVG_FORBIDDEN.search(content.decode("utf-8-sig")):
        raise ValidationError(
            _("SVG logos may not contain scripts, event handlers, entities or embedded content."),
            code="logo_svg_active",
        )


def logo_content_type(name: str) -> str:
    return LOGO_CONTENT_TYPES[_extension(name)]
