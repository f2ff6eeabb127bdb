"""The project as real processes on a throwaway folder: what the browser tests, the crash
test and the webhook benchmark share.

The app's environment never takes the developer's database, Redis, Chroma server or LLM
key (``app_environment``); management commands run against it (``run_manage``); Daphne
serves it on a free port (``daphne_start``, ``daphne_wait_healthy``, ``daphne_stop``), or
all of it at once, migrated and seeded, with ``running_app``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SETUP: tuple[tuple[str, ...], ...] = (("migrate", "--noinput"), ("seed_demo",))
# Settings that must never come from the developer's environment or .env file.
BLANKED = ("REDIS_URL", "CHROMA_URL", "DEEPSEEK_API_KEY", "LLM_API_KEY")
# The Fernet key the app's secrets are encrypted with (base64 of a 32-byte test string).
FIELD_ENCRYPTION_KEY = "bGl2ZS10ZXN0LWZpZWxkLWtleS1ub3QtYS1zZWNyZXQ="


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class LiveApp:
    """A running app: its base URL, its folder and the environment it runs with."""

    url: str
    folder: Path
    env: Mapping[str, str]

    def manage(self, *args: str, timeout: float = 120) -> str:
        """Run a management command against the app's database; returns its output."""
        return run_manage(self.env, *args, timeout=timeout)

    @property
    def log(self) -> str:
        return (self.folder / "daphne.log").read_text(errors="replace")


def run_manage(env: Mapping[str, str], *args: str, timeout: float = 120) -> str:
    result = subprocess.run(  # noqa: S603 (our interpreter, fixed arguments)
        [str(BIN / "python"), "manage.py", *args],
        cwd=ROOT,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def app_environment(
    folder: Path, base_url: str, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment of an app on ``folder``: nothing shared with the developer's."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update({name: "" for name in BLANKED})
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=f"sqlite:///{folder / 'db.sqlite3'}",
        DEBUG="1",
        SECRET_KEY="live-test-secret-key",
        FIELD_ENCRYPTION_KEY=FIELD_ENCRYPTION_KEY,
        CHROMA_DIR=str(folder / "chroma"),
        MEDIA_ROOT=str(folder / "media"),
        STATIC_ROOT=str(folder / "static"),
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        TASKS_IN_PROCESS_WORKER="1",
        PUBLIC_BASE_URL=base_url,
        LLM_BASE_URL="http://127.0.0.1:9/v1",  # nothing listens: the fallback agent answers
        PYTHONUNBUFFERED="1",
        # Bursts and benchmarks send thousands of CRM API requests with one key; a test of
        # the limit passes its own value in ``extra``.
        API_RATE_LIMIT="0",
        # Served over plain HTTP on 127.0.0.1, also when a caller sets DEBUG=0 (production-
        # like): no redirect to HTTPS, no HSTS, cookies over HTTP.
        SECURE_SSL_REDIRECT="0",
        SECURE_HSTS_SECONDS="0",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
    )
    env.update(extra or {})
    return env


def daphne_start(env: Mapping[str, str], port: int, log: IO[bytes] | int) -> subprocess.Popen:
    """Daphne serving ``config.asgi`` on 127.0.0.1:``port`` as production does (``python -m
    config.serve``), its output into ``log``."""
    return subprocess.Popen(  # noqa: S603 (our interpreter, fixed arguments)
        [
            *(str(BIN / "python"), "-m", "config.serve"),
            *("-b", "127.0.0.1", "-p", str(port), "config.asgi:application"),
        ],
        cwd=ROOT,
        env=dict(env),
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def daphne_wait_healthy(url: str, daphne: subprocess.Popen, log: Path, timeout: float) -> None:
    """Return once ``url``/healthz/ answers; raise with the log when Daphne dies or is late."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(f"{url}/healthz/", timeout=1).close()  # noqa: S310
            return
        except OSError:
            if daphne.poll() is not None or time.monotonic() > deadline:
                text = log.read_text(errors="replace") if log.exists() else ""
                raise RuntimeError(f"Daphne did not come up:\n{text[-3000:]}") from None
            time.sleep(0.2)


def daphne_stop(daphne: subprocess.Popen, timeout: float = 10) -> None:
    daphne.terminate()
    try:
        daphne.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        daphne.kill()
        daphne.wait(timeout=timeout)


@contextmanager
def running_app(
    folder: Path,
    *,
    env: Mapping[str, str] | None = None,
    setup: Sequence[Sequence[str]] = SETUP,
    startup_timeout: float = 60,
) -> Iterator[LiveApp]:
    """Set the app up on ``folder``, serve it with Daphne on a free port, stop it after."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    app = LiveApp(url=base_url, folder=folder, env=app_environment(folder, base_url, env))
    for command in setup:
        app.manage(*command)
    with (folder / "daphne.log").open("wb") as log:
        daphne = daphne_start(app.env, port, log)
        try:
            daphne_wait_healthy(app.url, daphne, folder / "daphne.log", startup_timeout)
            yield app
        finally:
            daphne_stop(daphne)


def stored_secret(ciphertext: str) -> str:
    """A secret the app stored encrypted (read with SQL from its database), in plain text."""
    return Fernet(FIELD_ENCRYPTION_KEY).decrypt(ciphertext.encode()).decode()
