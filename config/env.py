"""Turn environment values into Django settings, failing loudly on bad values.

Kept apart from ``settings.py`` so that the parsing rules are unit-tested.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import environ
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

SQLITE_OPTIONS = {
    # WAL lets readers work while one writer writes; IMMEDIATE takes the write
    # lock at BEGIN so two writers queue instead of failing with "locked".
    "init_command": "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL",
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
}

MYSQL_OPTIONS = {
    "charset": "utf8mb4",
    "init_command": "SET sql_mode='STRICT_TRANS_TABLES'",
}


def database_config(url: str | None, *, base_dir: Path) -> dict[str, Any]:
    """The ``default`` database: SQLite in the project folder unless a URL says otherwise."""
    if not url:
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(base_dir / "db.sqlite3"),
            "OPTIONS": dict(SQLITE_OPTIONS),
        }
    scheme = urlparse(url).scheme
    if scheme not in {"sqlite", "mysql", "mysql2", "mariadb"}:
        raise ImproperlyConfigured(
            f"DATABASE_URL scheme {scheme!r} is not supported: use sqlite:/// or mysql://"
        )
    if scheme == "mariadb":
        url = "mysql" + url[len("mariadb") :]
    config = environ.Env.db_url_config(url)
    if config["ENGINE"] == "django.db.backends.sqlite3":
        config["OPTIONS"] = {**SQLITE_OPTIONS, **config.get("OPTIONS", {})}
    else:
        config["OPTIONS"] = {**MYSQL_OPTIONS, **config.get("OPTIONS", {})}
        config["TEST"] = {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"}
    config.setdefault("CONN_MAX_AGE", 0)
    return config


def channel_layers_config(redis_url: str | None) -> dict[str, Any]:
    """The in-memory layer for one process; channels-redis when REDIS_URL is set."""
    if not redis_url:
        return {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    if urlparse(redis_url).scheme not in {"redis", "rediss", "unix"}:
        raise ImproperlyConfigured(
            f"REDIS_URL must start with redis://, rediss:// or unix://, got {redis_url!r}"
        )
    return {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # redis-py 8 reads with a 5 s socket timeout by default, which ends the
            # channel layer's idle 5 s blocking pop: every idle widget socket was closed
            # with 1011 every ~5 s (django/channels_redis#422, redis/redis-py#4091).
            "CONFIG": {"hosts": [{"address": redis_url, "socket_timeout": None}]},
        }
    }


FERNET_KEY_HINT = (
    'generate one with: python -c "from cryptography.fernet import Fernet; '
    'print(Fernet.generate_key().decode())"'
)


def field_encryption_keys(value: str, *, debug: bool, secret_key: str) -> list[str]:
    """``FIELD_ENCRYPTION_KEY``: the Fernet keys that encrypt secrets at rest, newest first.

    Comma-separated for rotation: the first key encrypts, every key decrypts (add the new
    key in front, run ``manage.py reencrypt_secrets``, then drop the old one). Unset, a
    DEBUG run derives a development key from ``SECRET_KEY``; with DEBUG off it must be set.
    A value that is not a Fernet key fails here, at start-up, naming its position (never
    the value: it is a secret).
    """
    keys = [key.strip() for key in value.split(",") if key.strip()]
    if not keys:
        if not debug:
            raise ImproperlyConfigured(
                f"FIELD_ENCRYPTION_KEY must be set when DEBUG is off ({FERNET_KEY_HINT})."
            )
        digest = hashlib.sha256(f"field-encryption-key:{secret_key}".encode()).digest()
        return [base64.urlsafe_b64encode(digest).decode()]
    for number, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except ValueError:
            raise ImproperlyConfigured(
                f"FIELD_ENCRYPTION_KEY: key {number} of {len(keys)} is not a Fernet key "
                f"(32 url-safe base64-encoded bytes); {FERNET_KEY_HINT}"
            ) from None
    if len(set(keys)) != len(keys):
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEY: the same key is listed twice.")
    return keys


def csp_directives(*, public_base_url: str, report_uri: str = "") -> dict[str, Any]:
    """The Content-Security-Policy's directives (django-csp 4's ``DIRECTIVES``).

    ``connect-src`` allows WebSockets to the public host (``ws:`` for ``http:``, ``wss:`` for
    ``https:``) besides 'self', for browsers that do not count them as 'self' yet.
    """
    from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE

    public = urlparse(public_base_url)
    if public.scheme not in ("http", "https") or not public.netloc:
        raise ImproperlyConfigured(
            f"PUBLIC_BASE_URL must be an http(s) URL, not {public_base_url!r}."
        )
    websocket = f"{'wss' if public.scheme == 'https' else 'ws'}://{public.netloc}"
    directives: dict[str, Any] = {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "style-src-attr": [UNSAFE_INLINE],
        "img-src": [SELF],
        "font-src": [SELF],
        "connect-src": [SELF, websocket],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
    if report_uri:
        directives["report-uri"] = [report_uri]
    return directives
