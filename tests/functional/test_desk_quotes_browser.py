"""A sales rep approves the agent's draft quote in real Chromium: the inbox marks Laura's
conversation "Quote needs approval"; on the quote's page the rep changes a quantity (the
price stays the catalog's), approves and sends it; the PDF reaches the Bot API server on
127.0.0.1 exactly once (sendDocument, with the Accept button). With SAVE_SCREENSHOTS set
it refreshes the README's picture of the approval page."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator

import pytest

from tests.fakes.telegram_server import FakeTelegram
from tests.functional.browser import (  # noqa: F401
    DEMO_REP,
    ROOT,
    browser,
    live_app,
    login,
    page,
)

BOT_TOKEN = "424242:AAquote-browser-token"
LAURA_CHAT = 100200300  # seed_demo's Laura Gómez on Telegram
SCREENSHOT = ROOT / "docs" / "screenshots" / "desk-quote.png"

SETUP = f"""
import json
from channels_app.inbox import route_ensure
from channels_app.models import ChannelAccount
from django.utils import timezone
from quotes.models import Quote
from tenants.models import Tenant
from tenants.scoping import tenant_scope
tenant = Tenant.objects.get(slug="demo")
with tenant_scope(tenant):
    account = ChannelAccount.objects.get(kind="telegram", name="Ventas")
    quote = Quote.objects.get(status="draft")
    conversation = quote.conversation
    # The bot dealt with Laura's last message already (no recovery answer meanwhile).
    conversation.messages.filter(role="user").update(handled_at=timezone.now())
    route_ensure(conversation=conversation, account=account, address="{LAURA_CHAT}")
    print(json.dumps({{"quote": quote.pk, "conversation": conversation.pk}}))
"""


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    server = FakeTelegram().start()
    yield server
    server.stop()


@pytest.fixture
def app_env(telegram: FakeTelegram) -> dict[str, str]:
    return {"TELEGRAM_API_BASE": telegram.base_url, "CHANNEL_SEND_BACKOFF": "0.01"}


def test_rep_edits_approves_and_sends_the_agent_s_draft(
    page,  # noqa: F811
    live_app,  # noqa: F811
    telegram,
):
    from playwright.sync_api import expect

    live_app.manage("add_channel", "demo", "telegram", "--name", "Ventas", "--bot-token", BOT_TOKEN)
    ids = json.loads(live_app.manage("shell", "-c", SETUP).strip().splitlines()[-1])
    page.set_viewport_size({"width": 1280, "height": 900})
    login(page, live_app.url, *DEMO_REP)

    # The inbox says which conversation has a draft waiting, and filters on it.
    page.goto(f"{live_app.url}/admin/crm/conversation/?quote=draft")
    row = page.locator(f'#result_list a[href*="/conversation/{ids["conversation"]}/change/"]')
    expect(row).to_have_count(1)
    expect(page.locator("#result_list .desk-badge-quote")).to_have_text("Quote needs approval")

    # The quotes list, then the draft's page.
    page.goto(f"{live_app.url}/admin/quotes/quote/")
    page.locator("#result_list").get_by_role("link", name="Q-00001").click()
    expect(page).to_have_url(re.compile(rf"/quotes/quote/{ids['quote']}/change/$"))
    expect(page.locator(".desk-quote-bar .desk-state")).to_contain_text("Draft")
    expect(page.locator("#lines-group")).to_contain_text("TU-5200")
    first_sku = page.locator('input[name="lines-0-line_sku"]')
    expect(first_sku).to_have_value("HL-TUR-5200")
    unit_price = page.locator("#lines-group td.field-unit_price_shown").first.inner_text()

    # One meter instead of two: the price stays the catalog's, the total follows.
    page.fill('input[name="lines-0-quantity"]', "1")
    page.locator('input[name="_save"]').click()
    expect(page.locator(".messagelist")).to_contain_text("Quote Q-00001 saved.")
    expect(page.locator('input[name="lines-0-quantity"]')).to_have_value("1")
    expect(page.locator("#lines-group td.field-unit_price_shown").first).to_have_text(unit_price)
    if os.environ.get("SAVE_SCREENSHOTS"):  # refresh the README's picture on demand
        page.screenshot(path=str(SCREENSHOT), full_page=True)

    page.get_by_role("button", name="Approve", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("Q-00001 approved.")
    expect(page.locator(".desk-quote-bar .desk-state")).to_contain_text("Approved")
    expect(page.locator('input[name="lines-0-quantity"]')).to_have_count(0)  # read-only now
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("is being sent to the customer")
    expect(page.locator(".desk-quote-bar .desk-state")).to_contain_text("Sent")

    deadline = time.monotonic() + 20
    while not telegram.documents(LAURA_CHAT) and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1)  # a second delivery would show up by now
    documents = telegram.documents(LAURA_CHAT)
    assert len(documents) == 1
    assert "Q-00001" in str(documents[0].body.get("caption", ""))
