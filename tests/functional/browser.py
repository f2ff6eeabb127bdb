"""Real-browser tests: the real app under Daphne in a subprocess, driven by headless Chromium.

The app runs on a throwaway folder (SQLite file database, Chroma directory, media,
static root), is migrated and seeded with ``seed_demo`` before it starts, and runs
its background tasks in process (``TASKS_IN_PROCESS_WORKER=1``), so an upload is
processed as it would be on ``make run``. Playwright drives Debian's Chromium
(``/usr/bin/chromium``; browser downloads are not used).

In a test module::

    from tests.functional.browser import app_env, browser, live_app, login, page  # noqa: F401

    def test_something(live_app, page):
        login(page, live_app.url)
        ...

Extend the app's environment by overriding the ``app_env`` fixture in the module
(say, ``LLM_BASE_URL`` of a fake LLM server); run more commands with
``live_app.manage(...)``.
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
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DEMO_ADMIN = ("admin@demo.example", "demo-pass-2026")  # seed_demo's tenant admin
DEMO_REP = ("rep@demo.example", "demo-pass-2026")
SETUP: tuple[tuple[str, ...], ...] = (("migrate", "--noinput"), ("seed_demo",))
# Settings that must never come from the developer's environment or .env file.
BLANKED = ("REDIS_URL", "CHROMA_URL", "DEEPSEEK_API_KEY", "LLM_API_KEY")


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
    result = subprocess.run(  # noqa: S603
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
        SECRET_KEY="browser-test-secret-key",
        CHROMA_DIR=str(folder / "chroma"),
        MEDIA_ROOT=str(folder / "media"),
        STATIC_ROOT=str(folder / "static"),
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        TASKS_IN_PROCESS_WORKER="1",
        PUBLIC_BASE_URL=base_url,
        LLM_BASE_URL="http://127.0.0.1:9/v1",  # nothing listens: the fallback agent answers
        PYTHONUNBUFFERED="1",
    )
    env.update(extra or {})
    return env


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
        daphne = subprocess.Popen(  # noqa: S603
            [str(BIN / "daphne"), "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"],
            cwd=ROOT,
            env=dict(app.env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_healthy(app, daphne, startup_timeout)
            yield app
        finally:
            daphne.terminate()
            try:
                daphne.wait(timeout=10)
            except subprocess.TimeoutExpired:
                daphne.kill()
                daphne.wait(timeout=10)


def _wait_until_healthy(app: LiveApp, daphne: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(f"{app.url}/healthz/", timeout=1).close()  # noqa: S310
            return
        except OSError:
            if daphne.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Daphne did not come up:\n{app.log}") from None
            time.sleep(0.2)


@pytest.fixture
def app_env() -> dict[str, str]:
    """Extra environment for the app under test: override it in a test module."""
    return {}


@pytest.fixture
def live_app(tmp_path: Path, app_env: dict[str, str]) -> Iterator[LiveApp]:
    """The app, migrated and seeded, served by Daphne; ``live_app.url`` is its base URL."""
    with running_app(tmp_path / "app", env=app_env) as app:
        yield app


@pytest.fixture
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(f"needs Debian's Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--no-sandbox", "--disable-dev-shm-usage"],
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh page in its own browser context (no cookies shared between tests)."""
    context = browser.new_context(locale="en-US")
    context.set_default_timeout(15_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def login(
    page: Page, base_url: str, email: str = DEMO_ADMIN[0], password: str = DEMO_ADMIN[1]
) -> None:
    """Log in to the desk through its login form; returns on the desk's index."""
    from playwright.sync_api import expect

    page.goto(f"{base_url}/admin/login/?next=/admin/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", password)
    page.click("input[type=submit]")
    expect(page.locator("#user-tools")).to_contain_text("Log out", ignore_case=True)
