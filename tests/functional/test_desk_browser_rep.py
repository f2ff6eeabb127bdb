"""A sales rep works a lead in real Chromium: from the opportunity (its recommendations and
transcript) to its Telegram conversation, which they take over and answer. The reply goes
out through the production sender to a Bot API server on 127.0.0.1 (the app finds it through
TELEGRAM_API_BASE) and shows as sent; the customer's answer, posted to the app's webhook,
appears in the open page without a reload (the live socket)."""

from __future__ import annotations

import json
import os
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.telegram_server import FakeTelegram, text_update
from tests.functional.browser import (  # noqa: F401
    DEMO_REP,
    ROOT,
    LiveApp,
    browser,
    live_app,
    login,
    page,
)

BOT_TOKEN = "424242:AAbrowser-test-token"
LAURA_CHAT = 100200300  # seed_demo's Laura Gómez on Telegram
SCREENSHOT = ROOT / "docs" / "screenshots" / "opportunity.png"
REPLY = "Hola Laura, soy Demo Rep. Le envío hoy la cotización del TU-5200."
ANSWER = "Perfecto, quedo atenta al correo."

# Laura's opportunity and conversation, with the route a Telegram webhook would have stored
# (seed_demo's conversations have none).
SETUP = f"""
import json
from channels_app.inbox import route_ensure
from channels_app.models import ChannelAccount
from django.utils import timezone
from crm.models import LeadOpportunity
from tenants.models import Tenant
from tenants.scoping import tenant_scope
CHAT = "{LAURA_CHAT}"
tenant = Tenant.objects.get(slug="demo")
with tenant_scope(tenant):
    account = ChannelAccount.objects.get(kind="telegram", name="Ventas")
    opportunity = LeadOpportunity.objects.filter(
        contact__platform_user_id=CHAT, contact__platform="telegram"
    ).latest("created_at")
    # seed_demo leaves Laura's last message unanswered: the inbox's recovery sweep would
    # have the bot answer it any moment. Say the bot dealt with it already.
    opportunity.conversation.messages.filter(role="user").update(handled_at=timezone.now())
    route_ensure(conversation=opportunity.conversation, account=account, address=CHAT)
    print(json.dumps({{
        "opportunity": opportunity.pk,
        "conversation": opportunity.conversation_id,
        "secret": account.webhook_secret,
        "path": account.webhook_path(),
    }}))
"""


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    server = FakeTelegram().start()
    yield server
    server.stop()


@pytest.fixture
def app_env(telegram: FakeTelegram) -> dict[str, str]:
    return {"TELEGRAM_API_BASE": telegram.base_url, "CHANNEL_SEND_BACKOFF": "0.01"}


def post_update(app: LiveApp, path: str, secret: str, update: dict) -> None:
    request = urllib.request.Request(  # noqa: S310 - the app under test on 127.0.0.1
        f"{app.url}{path}",
        data=json.dumps(update).encode(),
        headers={
            "Content-Type": "application/json",
            "X-Telegram-Bot-Api-Secret-Token": secret,
        },
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        assert response.status == 200


def test_rep_takes_over_the_conversation_of_an_opportunity_and_replies(
    page,  # noqa: F811
    live_app,  # noqa: F811
    telegram,
):
    from playwright.sync_api import expect

    live_app.manage("add_channel", "demo", "telegram", "--name", "Ventas", "--bot-token", BOT_TOKEN)
    ids = json.loads(live_app.manage("shell", "-c", SETUP).strip().splitlines()[-1])
    page.set_viewport_size({"width": 1280, "height": 900})
    login(page, live_app.url, *DEMO_REP)

    # The opportunity: what the customer needs, what the agent recommended, the chat.
    page.goto(f"{live_app.url}/admin/crm/leadopportunity/")
    page.locator(f'#result_list a[href$="/{ids["opportunity"]}/change/"]').first.click()
    expect(page).to_have_url(re.compile(rf"/leadopportunity/{ids['opportunity']}/change/$"))
    expect(page.locator("#recommendations-group")).to_contain_text("HL-TUR-5200")
    expect(page.locator(".field-transcript")).to_contain_text(
        "Para el Lab Aguas de Aguas del Valle. Soy Laura Gómez."
    )
    if os.environ.get("SAVE_SCREENSHOTS"):  # refresh the README's picture on demand
        page.screenshot(path=str(SCREENSHOT), full_page=True)

    # Its conversation, where the rep takes over from the bot.
    page.locator("#view_id_conversation").click()
    expect(page).to_have_url(re.compile(rf"/conversation/{ids['conversation']}/change/"))
    expect(page.locator(".desk-state")).to_have_text("The bot is answering.")
    expect(page.locator(".field-opportunity_links")).to_contain_text("Medición de turbidez")
    page.get_by_role("button", name="Take over").click()
    expect(page.locator(".desk-state")).to_contain_text("With a rep (you)")
    expect(page.get_by_role("button", name="Take over")).to_have_count(0)

    # The reply: stored, sent by the in-process worker, shown as sent.
    page.fill("#desk-reply-text", REPLY)
    page.get_by_role("button", name="Send reply").click()
    row = page.locator("#desk-transcript tbody tr", has_text=REPLY)
    expect(row).to_contain_text("Sales rep (Demo Rep)")
    expect(row).to_have_attribute("data-delivery", "sent", timeout=30_000)
    expect(row.locator(".desk-delivery")).to_have_text("Sent")
    assert telegram.sent(LAURA_CHAT) == [REPLY]

    # The customer answers: the open page shows it without a reload.
    expect(page.locator(".desk-live-status")).to_contain_text("Live", timeout=10_000)
    page.evaluate("window.__sameDocument = true")
    post_update(live_app, ids["path"], ids["secret"], text_update(LAURA_CHAT, ANSWER))
    answer = page.locator("#desk-transcript tbody tr", has_text=ANSWER)
    expect(answer).to_contain_text("Customer (Laura Gómez)", timeout=10_000)
    assert page.evaluate("window.__sameDocument") is True
    assert telegram.sent(LAURA_CHAT) == [REPLY]  # the bot stayed quiet
    assert Path(SCREENSHOT).stat().st_size > 10_000
