"""The widget in real headless Chromium against a real Daphne server.

Daphne serves the demo page, the script and the WebSocket from a throwaway
SQLite database; the agent talks to an OpenAI-compatible server on 127.0.0.1
that streams its answer. Playwright drives Debian's Chromium (no browser
download): the test is skipped only when /usr/bin/chromium is missing.
"""

from __future__ import annotations

import re
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.fakes.openai_server import Action, FakeLLM
from tests.functional.browser import CspWatch
from tests.live import free_port, running_app

CHROMIUM = Path("/usr/bin/chromium")
REPLY = "Para turbidez en agua potable le recomiendo el turbidímetro portátil TU-5200."

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (apt install)"
)


@pytest.fixture
def customer_port() -> int:
    """The port of a customer's site (another origin: http://localhost:PORT) embedding it."""
    return free_port()


@pytest.fixture
def server(tmp_path: Path, customer_port: int) -> Iterator[str]:
    """Daphne on a free port with the demo tenant and its widget; yields the base URL."""
    llm = FakeLLM(default=lambda body: Action("text", content=REPLY)).start()
    env = {
        "TASKS_IN_PROCESS_WORKER": "0",
        "LLM_BASE_URL": llm.base_url,
        "LLM_API_KEY": "browser-test-key",
        "LLM_MAX_RETRIES": "0",
    }
    try:
        with running_app(tmp_path / "app", env=env, startup_timeout=20) as app:
            app.manage(
                "add_channel", "demo", "widget", "--name", "Demo widget",
                "--origin", app.url, "--origin", f"http://localhost:{customer_port}",
                "--greeting", "¡Hola! Soy Ana. ¿Qué necesita medir?",
            )  # fmt: skip
            yield app.url
    finally:
        llm.stop()


# Records every text the newest assistant bubble shows, to see the reply grow token by token.
WATCH = """() => {
  const log = document.querySelector('#sales-widget').shadowRoot.querySelector('.log');
  window.__seen = [];
  new MutationObserver(() => {
    const bubbles = log.querySelectorAll('.msg.assistant');
    const text = bubbles.length ? bubbles[bubbles.length - 1].textContent : '';
    if (window.__seen[window.__seen.length - 1] !== text) window.__seen.push(text);
  }).observe(log, {childList: true, subtree: true, characterData: true});
}"""


def test_visitor_chats_sees_the_reply_stream_and_finds_it_after_a_reload(server: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        try:
            page = browser.new_page()
            page.goto(f"{server}/demo/")
            expect(page.get_by_role("heading", level=1)).to_contain_text("laboratorios de agua")
            page.locator(".bubble").click()  # Playwright's CSS pierces the open shadow root
            panel = page.locator(".panel")
            expect(panel).to_be_visible()
            expect(panel.locator(".head strong")).to_have_text("Hidrolab Demo")
            expect(panel.locator(".msg.assistant").first).to_have_text(
                "¡Hola! Soy Ana. ¿Qué necesita medir?"
            )
            expect(panel.locator("form button")).to_be_enabled()
            page.evaluate(WATCH)

            question = "Necesito medir turbidez en agua potable <b>hasta 1000 NTU</b>"
            panel.locator("textarea").fill(question)
            panel.locator("textarea").press("Enter")
            expect(panel.locator(".msg.user")).to_have_text(question)  # as text, not HTML
            expect(panel.locator(".msg.assistant").last).to_have_text(REPLY, timeout=15_000)
            seen = page.evaluate("window.__seen")
            growing = [t for t in seen if t and REPLY.startswith(t) and t != REPLY]
            assert len(growing) >= 3, seen  # partial texts shown before the final one
            assert panel.locator(".msg.user b").count() == 0
            keys = page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('sales'))")
            assert len([key for key in keys if key.endswith(":token")]) == 1

            page.reload()
            page.locator(".bubble").click()
            messages = page.locator(".panel .msg")
            expect(messages).to_have_count(3)  # greeting, question, reply: from the history
            expect(messages.nth(1)).to_have_text(question)
            expect(messages.nth(2)).to_have_text(REPLY)
        finally:
            browser.close()


def customer_site(port: int, app_url: str, key: str) -> ThreadingHTTPServer:
    """A customer's page on http://localhost:PORT with the snippet and a strict CSP of its
    own: nothing but our script and our WebSocket, no inline style at all."""
    app = urlsplit(app_url)
    policy = (
        f"default-src 'none'; script-src {app_url}; connect-src ws://{app.netloc}; "
        "style-src 'none'; img-src 'none'"
    )
    page = (
        "<!doctype html><html><head><title>Customer</title></head><body><h1>Customer</h1>"
        f'<script src="{app_url}/static/widget/widget.js" data-key="{key}" async></script>'
        "</body></html>"
    ).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Security-Policy", policy)
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: object) -> None:
            pass

    site = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    return site


def test_the_widget_works_on_a_customer_site_under_its_strict_csp(
    server: str, customer_port: int
) -> None:
    from playwright.sync_api import expect, sync_playwright

    demo = urllib.request.urlopen(f"{server}/demo/").read().decode()  # noqa: S310 (127.0.0.1)
    key = re.search(r'data-key="([^"]+)"', demo).group(1)
    site = customer_site(customer_port, server, key)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
            )
            try:
                page = browser.new_page()
                watch = CspWatch(page)
                page.goto(f"http://localhost:{customer_port}/")
                page.locator(".bubble").click()
                panel = page.locator(".panel")
                expect(panel).to_be_visible()
                expect(panel.locator(".msg.assistant").first).to_have_text(
                    "¡Hola! Soy Ana. ¿Qué necesita medir?"
                )
                expect(panel.locator("form button")).to_be_enabled()  # the socket is open
                position = page.evaluate(
                    "getComputedStyle(document.querySelector('#sales-widget').shadowRoot"
                    ".querySelector('.bubble')).position"
                )
                assert position == "fixed"  # its styles apply under style-src 'none'
                assert watch.violations() == []
            finally:
                browser.close()
    finally:
        site.shutdown()
