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

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.live import ROOT, LiveApp, free_port, running_app  # noqa: F401 (re-exported)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
DEMO_ADMIN = ("admin@demo.example", "demo-pass-2026")  # seed_demo's tenant admin
DEMO_REP = ("rep@demo.example", "demo-pass-2026")


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
    """A fresh page in its own browser context (no cookies shared between tests).

    Every page it visits must run under the Content-Security-Policy: a violation that
    Chromium reports in the console fails the test.
    """
    context = browser.new_context(locale="en-US")
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        watch = CspWatch(page)
        yield page
        assert watch.console == [], "Content-Security-Policy violations reported"
    finally:
        context.close()


def login(
    page: Page,
    base_url: str,
    email: str = DEMO_ADMIN[0],
    password: str = DEMO_ADMIN[1],
    language: str | None = "en",
) -> None:
    """Log in to the desk through its login form; returns on the desk's index.

    The demo tenant speaks Spanish; the member then chooses ``language`` on the desk's
    language page (English by default, the language the tests' assertions are written in;
    "" follows the tenant, None leaves the member's choice as it is)."""
    from playwright.sync_api import expect

    page.goto(f"{base_url}/admin/login/?next=/admin/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", password)
    page.click("input[type=submit]")
    expect(page.locator("#user-tools form#logout-form")).to_be_visible()
    if language is not None:
        page.goto(f"{base_url}/admin/language/?next=/admin/")
        page.select_option("select[name=language]", language)
        page.click("#content-main input[type=submit]")
        expect(page.locator("html")).to_have_attribute("lang", language or "es")


# Reports every Content-Security-Policy violation of the page (and its frames) in a list.
CSP_WATCH = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (event) => {
  const where = `${event.sourceFile}:${event.lineNumber}`;
  window.__cspViolations.push(
    `${event.effectiveDirective} blocked ${event.blockedURI || 'inline'} at ${where}`
  );
});
"""


class CspWatch:
    """The CSP violations a page reports, from its event and from Chromium's console."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.console: list[str] = []
        page.add_init_script(CSP_WATCH)
        page.on("console", self._on_console)

    def _on_console(self, message: object) -> None:
        text = getattr(message, "text", "")
        if "Content Security Policy" in text or "Content-Security-Policy" in text:
            self.console.append(text)

    def violations(self) -> list[str]:
        """What the current page and the console reported so far (empty: none)."""
        events = self.page.evaluate("window.__cspViolations || []")
        return [*events, *self.console]
