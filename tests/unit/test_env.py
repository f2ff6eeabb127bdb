"""Settings parsing: embedded defaults, MySQL/MariaDB and Redis switches, loud failures."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from config.env import channel_layers_config, database_config, field_encryption_keys


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


KEY_1, KEY_2 = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def test_field_encryption_keys_are_comma_separated_newest_first():
    assert field_encryption_keys(KEY_1, debug=False, secret_key="s") == [KEY_1]
    assert field_encryption_keys(f" {KEY_2} , {KEY_1},", debug=False, secret_key="s") == [
        KEY_2,
        KEY_1,
    ]


def test_production_requires_a_field_encryption_key():
    with pytest.raises(ImproperlyConfigured, match="must be set when DEBUG is off"):
        field_encryption_keys("", debug=False, secret_key="s")


def test_a_debug_run_without_a_key_derives_one_from_the_secret_key():
    [key] = field_encryption_keys("", debug=True, secret_key="dev")
    Fernet(key)  # a valid key
    assert field_encryption_keys("", debug=True, secret_key="dev") == [key]  # stable
    assert field_encryption_keys("", debug=True, secret_key="other") != [key]


@pytest.mark.parametrize("value", ["not-a-key", f"{KEY_1},short", "x" * 44])
def test_a_bad_field_encryption_key_fails_loudly_without_echoing_it(value):
    with pytest.raises(ImproperlyConfigured, match="is not a Fernet key") as raised:
        field_encryption_keys(value, debug=True, secret_key="s")
    assert value.split(",")[-1] not in str(raised.value)
    assert "Fernet.generate_key()" in str(raised.value)


def test_a_key_listed_twice_is_refused():
    with pytest.raises(ImproperlyConfigured, match="twice"):
        field_encryption_keys(f"{KEY_1},{KEY_1}", debug=False, secret_key="s")
