"""The REST API's per-key rate limit (``integrations.api.auth.rate_limit_hit``): fixed
windows counted in Django's cache, shared by every process when the cache is Redis."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid

import pytest
from django.core.cache import caches

from integrations.api.auth import rate_limit_hit
from tests.live import ROOT

REDIS = ("127.0.0.1", 6379)
REDIS_URL = "redis://127.0.0.1:6379/15"  # a database of its own
NOW = 1_800_000_010.0  # 10 s into a 60 s window


def redis_up() -> bool:
    try:
        socket.create_connection(REDIS, timeout=0.5).close()
    except OSError:
        return False
    return True


def test_the_limit_holds_within_a_window_and_resets_with_the_next():
    key = uuid.uuid4().hex
    assert [rate_limit_hit(key=key, limit=2, window=60, now=NOW) for _ in range(2)] == [0, 0]
    assert rate_limit_hit(key=key, limit=2, window=60, now=NOW) == pytest.approx(50.0)
    assert rate_limit_hit(key=uuid.uuid4().hex, limit=2, window=60, now=NOW) == 0  # other key
    assert rate_limit_hit(key=key, limit=2, window=60, now=NOW + 60) == 0  # next window


@pytest.mark.skipif(not redis_up(), reason="needs Redis on 127.0.0.1:6379")
def test_processes_sharing_redis_count_together(settings):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
    key = uuid.uuid4().hex
    other_process = (
        "import django; django.setup(); "
        "from integrations.api.auth import rate_limit_hit; "
        f"print([rate_limit_hit(key={key!r}, limit=5, window=60, now={NOW}) for _ in range(3)])"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "1"}
    env.update(REDIS_URL=REDIS_URL, DATABASE_URL="")
    result = subprocess.run(  # noqa: S603 (our interpreter, fixed arguments)
        [sys.executable, "-c", other_process],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert result.stdout.strip().splitlines()[-1] == "[0.0, 0.0, 0.0]"
    here = [rate_limit_hit(key=key, limit=5, window=60, now=NOW) for _ in range(3)]
    assert here[:2] == [0, 0] and here[2] == pytest.approx(50.0)  # the 6th of both processes
    caches["default"].delete_many([f"api-rate:{key}:{int(NOW // 60)}"])
