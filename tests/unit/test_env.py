"""Settings parsing: embedded defaults, MySQL/MariaDB and Redis switches, loud failures."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import channel_layers_config, database_config


def test_default_database_is_sqlite_in_wal_mode_in_the_project_folder(tmp_path: Path):
    config = database_config("", base_dir=tmp_path)
    assert config["ENGINE"] == "django.db.backends.sqlite3"
    assert config["NAME"] == str(tmp_path / "db.sqlite3")
    assert "journal_mode=WAL" in config["OPTIONS"]["init_command"]


def test_mysql_url_uses_mysqlclient_with_utf8mb4(tmp_path: Path):
    config = database_config("mysql://root:secret@127.0.0.1:3306/sales", base_dir=tmp_path)
    assert config["ENGINE"] == "django.db.backends.mysql"
    assert (config["NAME"], config["USER"], config["PASSWORD"]) == ("sales", "root", "secret")
    assert (config["HOST"], int(config["PORT"])) == ("127.0.0.1", 3306)
    assert config["OPTIONS"]["charset"] == "utf8mb4"
    assert config["TEST"]["CHARSET"] == "utf8mb4"


def test_mariadb_scheme_is_accepted_as_mysql(tmp_path: Path):
    config = database_config("mariadb://root@db:3306/sales", base_dir=tmp_path)
    assert config["ENGINE"] == "django.db.backends.mysql"
    assert config["HOST"] == "db"


def test_unsupported_database_fails_loudly(tmp_path: Path):
    with pytest.raises(ImproperlyConfigured, match="not supported"):
        database_config("oracle://x@y/z", base_dir=tmp_path)


def test_channel_layer_in_memory_by_default_and_redis_when_set():
    assert channel_layers_config("")["default"]["BACKEND"] == "channels.layers.InMemoryChannelLayer"
    redis = channel_layers_config("redis://127.0.0.1:6379/1")["default"]
    assert redis["BACKEND"] == "channels_redis.core.RedisChannelLayer"
    # no client read timeout: the layer's idle blocking pop must not end in a TimeoutError
    assert redis["CONFIG"]["hosts"] == [
        {"address": "redis://127.0.0.1:6379/1", "socket_timeout": None}
    ]
    with pytest.raises(ImproperlyConfigured):
        channel_layers_config("http://127.0.0.1:6379")
