"""A quote in the widget, in real headless Chromium against the real app under Daphne.

The visitor chats on the demo page (the agent talks to an OpenAI-compatible fake); a rep
sends a quote in that conversation (``desk.services.quote_deliver``, run as a management
shell against the app's database; the app's in-process worker delivers it). The widget
shows "Descargar PDF (Q-…)" and "Aceptar presupuesto"; the link serves the PDF; pressing the
button disables it and the confirmation appears in the chat; the quote is accepted. Every
page runs under the demo page's Content-Security-Policy (``tests.functional.browser``).
"""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator

import pytest

from tests.fakes.openai_server import Action, FakeLLM
from tests.functional.browser import app_env, browser, live_app, page  # noqa: F401 (fixtures)
from tests.live import LiveApp

REPLY = "Con gusto le preparo un presupuesto para el turbidímetro."

# Run in the app's shell: a rep sends a quote in the demo widget's latest conversation.
SEND_QUOTE = """
import json
from django.contrib.auth import get_user_model
from catalog.models import Product
from crm.audit import Actor
from crm.models import Conversation
from crm.services import opportunity_register
from desk.services import quote_deliver
from quotes.services import LineRequest, quote_prepare
from tenants.models import Tenant
from tenants.scoping import tenant_scope

tenant = Tenant.objects.get(slug="demo")
rep = get_user_model().objects.get(email="rep@demo.example")
with tenant_scope(tenant):
    conversation = Conversation.objects.filter(channel="widget").latest("pk")
    product = Product.objects.filter(is_active=True, price__gt=0).order_by("sku").first()
    opportunity, _ = opportunity_register(
        contact=conversation.contact, conversation=conversation,
        problem_statement="Turbidez en agua potable", actor=Actor.agent(),
    )
    quote = quote_prepare(
        opportunity=opportunity, lines=[LineRequest(product.sku, 2)], actor=Actor.agent(),
        conversation=conversation,
    )
    quote_deliver(quote=quote, user=rep)
    print(json.dumps({"reference": quote.reference, "key": quote.public_key}))
"""

QUOTE_STATUS = """
from quotes.models import Quote
from tenants.models import Tenant
from tenants.scoping import tenant_scope

tenant = Tenant.objects.get(slug="demo")
with tenant_scope(tenant):
    quote = Quote.objects.get(public_key="{key}")
    print(quote.status, quote.opportunity.status)
"""


@pytest.fixture
def llm() -> Iterator[FakeLLM]:
    server = FakeLLM(default=lambda body: Action("text", content=REPLY)).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def app_env(llm: FakeLLM) -> dict[str, str]:  # noqa: F811 (the module's own environment)
    return {
        "LLM_BASE_URL": llm.base_url,
        "LLM_API_KEY": "browser-test-key",
        "LLM_MAX_RETRIES": "0",
    }


def shell(app: LiveApp, code: str) -> str:
    return app.manage("shell", "-c", code).strip().splitlines()[-1]


def test_the_visitor_downloads_the_quote_and_accepts_it_in_the_widget(
    live_app: LiveApp,  # noqa: F811
    page,  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    live_app.manage("add_channel", "demo", "widget", "--name", "Web", "--origin", live_app.url)
    page.goto(f"{live_app.url}/demo/")
    page.locator(".bubble").click()  # Playwright's CSS pierces the open shadow root
    panel = page.locator(".panel")
    expect(panel.locator("form button")).to_be_enabled()
    panel.locator("textarea").fill("¿Me prepara un presupuesto de dos turbidímetros?")
    panel.locator("textarea").press("Enter")
    expect(panel.locator(".msg.assistant").last).to_have_text(REPLY, timeout=40_000)

    sent = json.loads(shell(live_app, SEND_QUOTE))
    reference = sent["reference"]
    quote_box = panel.locator(".msg.agent .quote")
    link = quote_box.locator("a.quote-pdf")
    expect(link).to_have_text(f"Descargar PDF ({reference})", timeout=20_000)
    expect(panel.locator(".msg.agent .who").last).to_contain_text("· Equipo comercial")
    href = link.get_attribute("href") or ""
    assert re.fullmatch(rf"{re.escape(live_app.url)}/q/[^/]+\.pdf", href), href
    with urllib.request.urlopen(href) as response:  # noqa: S310 (127.0.0.1)
        assert response.headers["Content-Type"] == "application/pdf"
        assert response.read().startswith(b"%PDF")

    button = quote_box.locator("button.quote-accept")
    expect(button).to_have_text("Aceptar presupuesto")
    expect(button).to_be_enabled()
    button.click()
    expect(button).to_be_disabled()
    expect(panel.locator(".msg.user").last).to_have_text(f"Acepto el presupuesto {reference}")
    expect(panel.locator(".msg.assistant").last).to_contain_text(
        f"Hemos recibido su aceptación del presupuesto {reference}", timeout=15_000
    )
    assert shell(live_app, QUOTE_STATUS.replace("{key}", sent["key"])) == "accepted won"

    # After a reload the quote shows as accepted, its button off.
    page.reload()
    page.locator(".bubble").click()
    button = page.locator(".panel .msg.agent .quote button.quote-accept")
    expect(button).to_have_text("Presupuesto aceptado")
    expect(button).to_be_disabled()
