"""The conversations inbox in real Chromium, as a sales rep of the demo tenant uses it.

At 1,400 px wide every conversation is one line (row heights measured, nothing wider than
the window). With the notification permission granted (Playwright's), the open inbox
receives a new customer's Telegram message, posted to the app's webhook: a new row
appears at the top with unread 1, without a reload, and a browser Notification is
constructed for it (the test page wraps ``window.Notification`` to record it). Opening the
conversation reads it (no unread left) and shows its workflow's buttons only; "Create an
opportunity" registers one and opens it."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator

import pytest

from tests.fakes.telegram_server import FakeTelegram, text_update
from tests.functional.browser import (  # noqa: F401
    DEMO_REP,
    ROOT,
    CspWatch,
    browser,
    live_app,
)
from tests.functional.test_desk_browser_rep import post_update

BOT_TOKEN = "424243:AAinbox-test-token"
NEW_CHAT = 700800900
NEED = "Buenas tardes, necesito un medidor de pH portátil para campo"
SCREENSHOTS = ROOT / "docs" / "screenshots"
ACCOUNT = """
import json
from channels_app.models import ChannelAccount
from tenants.models import Tenant
from tenants.scoping import tenant_scope
with tenant_scope(Tenant.objects.get(slug="demo")):
    account = ChannelAccount.objects.get(kind="telegram", name="Ventas")
    print(json.dumps({"secret": account.webhook_secret, "path": account.webhook_path()}))
"""

# Records every Notification the page constructs, then lets the browser's own do its work.
RECORD_NOTIFICATIONS = """
window.__notifications = [];
(() => {
  const Real = window.Notification;
  if (!Real) { return; }
  function Recorded(title, options) {
    window.__notifications.push({ title: title, body: (options || {}).body || "" });
    return new Real(title, options);
  }
  Object.defineProperty(Recorded, "permission", { get: () => Real.permission });
  Recorded.requestPermission = (...args) => Real.requestPermission(...args);
  window.Notification = Recorded;
})();
"""

# A browser where the member has not decided yet: the page must ask when the button is used.
NOT_DECIDED_YET = """
window.__asked = 0;
(() => {
  let state = "default";
  function Undecided() { throw new Error("not allowed yet"); }
  Object.defineProperty(Undecided, "permission", { get: () => state });
  Undecided.requestPermission = () => {
    window.__asked += 1;
    state = "granted";
    return Promise.resolve(state);
  };
  window.Notification = Undecided;
})();
"""

ROWS = """() => Array.from(document.querySelectorAll('#result_list tbody tr')).map(
  (tr) => tr.getBoundingClientRect().height)"""


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    server = FakeTelegram().start()
    yield server
    server.stop()


@pytest.fixture
def app_env(telegram: FakeTelegram) -> dict[str, str]:
    return {"TELEGRAM_API_BASE": telegram.base_url, "CHANNEL_SEND_BACKOFF": "0.01"}


def sign_in(page, base_url: str, email: str, password: str) -> None:
    """The login form, whatever the desk's language (the demo's members read Spanish)."""
    from playwright.sync_api import expect

    page.goto(f"{base_url}/admin/login/?next=/admin/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", password)
    page.click("input[type=submit]")
    expect(page.locator("#user-tools")).to_be_visible()


def test_the_live_inbox_fits_a_line_per_conversation_and_announces_a_new_customer(
    browser,  # noqa: F811
    live_app,  # noqa: F811
    telegram,
):
    from playwright.sync_api import expect

    live_app.manage("add_channel", "demo", "telegram", "--name", "Ventas", "--bot-token", BOT_TOKEN)
    account = json.loads(live_app.manage("shell", "-c", ACCOUNT).strip().splitlines()[-1])
    context = browser.new_context(locale="en-US", viewport={"width": 1400, "height": 900})
    context.set_default_timeout(15_000)
    context.grant_permissions(["notifications"], origin=live_app.url)
    context.add_init_script(RECORD_NOTIFICATIONS)
    try:
        page = context.new_page()
        csp = CspWatch(page)
        sign_in(page, live_app.url, *DEMO_REP)
        page.goto(f"{live_app.url}/admin/crm/conversation/")

        # One line per conversation at 1,400 px: every row as tall as a one-line row.
        heights = page.evaluate(ROWS)
        assert len(heights) >= 4, heights
        line = page.evaluate(
            "parseFloat(getComputedStyle(document.querySelector("
            "'#result_list tbody .field-contact_line')).lineHeight)"
        )
        assert max(heights) < 2 * line + 8, (heights, line)  # a wrapped cell adds a line
        assert max(heights) - min(heights) <= 2, heights
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        widths = page.evaluate(
            "Array.from(document.querySelectorAll('.desk-inbox-line')).map("
            "(e) => e.scrollWidth > e.clientWidth)"
        )
        assert any(widths)  # the long last messages are cut, not wrapped

        # Notifications were allowed: the button says so and cannot ask again.
        button = page.locator("#desk-notify")
        expect(button).to_be_visible()
        expect(button).to_be_disabled()
        expect(page.locator("#desk-inbox")).to_have_attribute("data-live", "yes")
        if os.environ.get("SAVE_SCREENSHOTS"):  # refresh the README's picture on demand
            page.screenshot(path=str(SCREENSHOTS / "desk-inbox.png"))

        # A new customer writes on Telegram: a new top row, unread 1, a notification.
        page.evaluate("window.__sameDocument = true")
        before = page.locator("#result_list tbody tr").count()
        post_update(live_app, account["path"], account["secret"], text_update(NEW_CHAT, NEED))
        row = page.locator("#result_list tbody tr", has_text="Ana Gómez")
        expect(row).to_have_count(1, timeout=15_000)
        expect(row.locator("td.field-unread .desk-unread")).to_have_text("1")
        expect(page.locator("#result_list tbody tr")).to_have_count(before + 1)
        assert page.evaluate("window.__sameDocument") is True
        page.wait_for_function("window.__notifications.length > 0")
        notifications = page.evaluate("window.__notifications")
        assert notifications[0]["title"] == "Ana Gómez · Telegram"
        assert NEED[:20] in notifications[0]["body"] or notifications[0]["body"]
        assert max(page.evaluate(ROWS)) < 2 * line + 8  # the new row is one line too

        # Opening it reads it; the page has its workflow's buttons only.
        row.locator("a").first.click()
        expect(page).to_have_url(re.compile(r"/conversation/\d+/change/$"))
        expect(page.locator('input[name="_addanother"]')).to_have_count(0)
        expect(page.locator('input[name="_continue"]')).to_have_count(0)
        expect(page.locator("a.deletelink")).to_have_count(0)
        expect(page.locator("a.desk-create-opportunity")).to_be_visible()
        if os.environ.get("SAVE_SCREENSHOTS"):
            page.screenshot(path=str(SCREENSHOTS / "desk-conversation.png"), full_page=True)
        page.go_back()
        row = page.locator("#result_list tbody tr", has_text="Ana Gómez")
        expect(row.locator("td.field-unread .desk-unread")).to_have_count(0)

        # Create an opportunity from it: the form is prefilled, the opportunity opens.
        row.locator("a").first.click()
        page.locator("a.desk-create-opportunity").click()
        expect(page.locator("#id_problem_statement")).to_have_value(NEED)
        page.fill("#id_value", "1250")
        page.fill("#id_next_step", "Enviar cotización del PH-200")
        page.locator('input[name="create"]').click()
        expect(page).to_have_url(re.compile(r"/leadopportunity/\d+/change/$"))
        expect(page.locator("#id_next_step")).to_have_value("Enviar cotización del PH-200")
        assert csp.violations() == []
    finally:
        context.close()

    # A member who has not decided: the button asks the browser, then says it is on.
    context = browser.new_context(locale="en-US", viewport={"width": 1400, "height": 900})
    context.add_init_script(NOT_DECIDED_YET)
    try:
        page = context.new_page()
        sign_in(page, live_app.url, *DEMO_REP)
        page.goto(f"{live_app.url}/admin/crm/conversation/")
        button = page.locator("#desk-notify")
        expect(button).to_be_enabled()
        asking = button.inner_text()
        button.click()
        expect(button).to_be_disabled()
        assert page.evaluate("window.__asked") == 1
        assert button.inner_text() != asking
    finally:
        context.close()
