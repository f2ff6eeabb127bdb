"""Turn environment values into Django settings, failing loudly on bad values.

Kept apart from ``settings.py`` so that the parsing rules are unit-tested.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import environ
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
