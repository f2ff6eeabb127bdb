"""What a widget visitor meets, in real headless Chromium against the real app under Daphne
(seed_demo's tenant, no LLM key: the fallback agent answers): every string in the tenant's
language and formality, the rate limit counted down with Send disabled, a long paste cut
with a notice, typing dots only while a turn runs, a rep who takes over announced and
named on their replies, and the panel on a 390 px wide phone. Every page runs under the
app's Content-Security-Policy and must report no violation.

``SAVE_SCREENSHOTS=1`` refreshes the README's docs/screenshots/widget-demo.png and
widget-mobile.png.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.functional.browser import CHROMIUM, DEMO_REP, CspWatch
from tests.live import ROOT, LiveApp, running_app

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (apt install)"
)

SCREENSHOTS = ROOT / "docs" / "screenshots"
RATE = (3, 8)  # messages per seconds: WIDGET_RATE_LIMIT of the app under test

TENANT_SET = """
from tenants.models import Tenant
Tenant.objects.filter(slug="demo").update(default_language={language!r}, formality={formality!r})
"""
REP_NAMED = """
from django.contrib.auth import get_user_model
get_user_model().objects.filter(email="rep@demo.example").update(
    first_name="Laura", last_name="Martín"
)
"""
CONVERSATION_OF = """
from crm.models import Conversation
from tenants.models import Tenant
from tenants.scoping import tenant_scope
with tenant_scope(Tenant.objects.get(slug="demo")):
    print(Conversation.objects.get(contact__platform_user_id={visitor!r}).pk)
"""

# Records when the typing dots show and when a reply lands, to see when the dots came back.
DOTS_WATCH = """() => {
  const root = document.querySelector('#sales-widget').shadowRoot;
  const dots = root.querySelector('.typing');
  window.__dots = [];
  new MutationObserver(() => window.__dots.push([dots.hidden ? 'hidden' : 'shown', Date.now()]))
    .observe(dots, {attributes: true, attributeFilter: ['hidden']});
}"""


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    env = {"WIDGET_RATE_LIMIT": f"{RATE[0]}/{RATE[1]}"}
    with running_app(tmp_path_factory.mktemp("widget-app"), env=env) as live:
        live.manage(
            "add_channel",
            "demo",
            "widget",
            "--name",
            "Demo widget",
            "--origin",
            live.url,
        )  # fmt: skip  (no --greeting: the widget greets in the tenant's language)
        live.manage("shell", "-c", REP_NAMED)
        yield live


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        try:
            yield chromium
        finally:
            chromium.close()


class Visitor:
    """A browser context on /demo/ (an English-speaking browser: the tenant's language
    must win), its CSP watch, and the widget's panel."""

    def __init__(self, browser: Browser, app: LiveApp, *, width: int = 1280, height: int = 860):
        self.context = browser.new_context(
            locale="en-US", viewport={"width": width, "height": height}
        )
        self.context.set_default_timeout(15_000)
        self.page: Page = self.context.new_page()
        self.watch = CspWatch(self.page)
        self.app = app

    def open(self) -> None:
        from playwright.sync_api import expect

        self.page.goto(f"{self.app.url}/demo/")
        self.page.locator(".bubble").click()  # Playwright's CSS pierces the open shadow root
        expect(self.panel).to_be_visible()
        expect(self.send_button).to_be_enabled()  # ready

    @property
    def panel(self):
        return self.page.locator(".panel")

    @property
    def send_button(self):
        return self.page.locator(".panel form button")

    @property
    def input(self):
        return self.page.locator(".panel textarea")

    @property
    def status(self):
        return self.page.locator(".panel .status")

    def send(self, text: str) -> None:
        self.input.fill(text)
        self.input.press("Enter")

    def visitor_id(self) -> str:
        token = self.page.evaluate(
            "Object.entries(localStorage).find(([k]) => k.endsWith(':token'))[1]"
        )
        return token.partition(":")[0]

    def close(self) -> None:
        try:
            assert self.watch.violations() == [], "Content-Security-Policy violations"
        finally:
            self.context.close()


@pytest.fixture
def visitors(browser: Browser, app: LiveApp) -> Iterator[list[Visitor]]:
    opened: list[Visitor] = []
    yield opened
    for visitor in opened:
        visitor.close()
    app.manage("shell", "-c", TENANT_SET.format(language="es", formality="formal"))


def visit(visitors: list[Visitor], browser: Browser, app: LiveApp, **size: int) -> Visitor:
    visitor = Visitor(browser, app, **size)
    visitors.append(visitor)
    return visitor


@pytest.mark.parametrize(
    ("language", "formality", "words"),
    [
        (
            "es",
            "formal",
            {
                "greeting": "¡Hola! ¿En qué podemos ayudarle?",
                "placeholder": "Escriba su mensaje…",
                "send": "Enviar",
                "close": "Cerrar",
                "open": "Abrir el chat",
            },
        ),
        (
            "es",
            "informal",
            {
                "greeting": "¡Hola! ¿En qué podemos ayudarte?",
                "placeholder": "Escribe tu mensaje…",
                "send": "Enviar",
                "close": "Cerrar",
                "open": "Abrir el chat",
            },
        ),
        (
            "en",
            "formal",
            {
                "greeting": "Hello! How can we help you?",
                "placeholder": "Type your message…",
                "send": "Send",
                "close": "Close",
                "open": "Open the chat",
            },
        ),
    ],
)
def test_the_widget_speaks_the_tenants_language_and_formality(
    browser, app, visitors, language, formality, words
):
    from playwright.sync_api import expect

    app.manage("shell", "-c", TENANT_SET.format(language=language, formality=formality))
    visitor = visit(visitors, browser, app)
    visitor.open()
    expect(visitor.panel.locator(".msg.assistant").first).to_have_text(words["greeting"])
    expect(visitor.input).to_have_attribute("placeholder", words["placeholder"])
    expect(visitor.send_button).to_have_text(words["send"])
    expect(visitor.panel.locator(".head button")).to_have_attribute("aria-label", words["close"])
    expect(visitor.page.locator(".bubble")).to_have_attribute("aria-label", words["open"])
    expect(visitor.panel).to_have_attribute("lang", language)


@pytest.mark.parametrize(
    ("language", "waiting"),
    [
        ("es", r"^Demasiados mensajes: espere (\d+) s\.$"),
        ("en", r"^Too many messages: wait (\d+) s\.$"),
    ],
)
def test_the_rate_limit_counts_down_with_send_disabled_then_sends_again(
    browser, app, visitors, language, waiting
):
    from playwright.sync_api import expect

    app.manage("shell", "-c", TENANT_SET.format(language=language, formality="formal"))
    visitor = visit(visitors, browser, app)
    visitor.open()
    for n in range(RATE[0]):
        visitor.send(f"Mensaje {n + 1}")
    refused = "Un mensaje de más"
    visitor.send(refused)

    expect(visitor.status).to_have_text(re.compile(waiting))
    expect(visitor.send_button).to_be_disabled()
    first = int(re.match(waiting, visitor.status.text_content()).group(1))
    assert 1 <= first <= RATE[1]
    expect(visitor.panel.locator(".msg.user.failed")).to_have_text(refused)
    expect(visitor.input).to_have_value(refused)  # given back, to send once allowed

    time.sleep(1.6)
    later = int(re.match(waiting, visitor.status.text_content()).group(1))
    assert later < first  # counting down, second by second
    expect(visitor.send_button).to_be_disabled()
    visitor.input.press("Enter")  # refused by the widget itself while it counts
    expect(visitor.panel.locator(".msg.user")).to_have_count(RATE[0] + 1)

    expect(visitor.send_button).to_be_enabled(timeout=(RATE[1] + 3) * 1000)
    expect(visitor.status).to_have_text("")
    visitor.input.press("Enter")
    sent = visitor.panel.locator(".msg.user").last
    expect(sent).to_have_text(refused)
    expect(sent).not_to_have_class(re.compile("pending|failed"))  # acknowledged


def test_a_paste_longer_than_the_limit_is_cut_with_a_notice(browser, app, visitors):
    from playwright.sync_api import expect

    visitor = visit(visitors, browser, app)
    visitor.open()
    visitor.input.focus()
    visitor.page.keyboard.insert_text("ñ" * 4000 + "x" * 1000)  # as a paste arrives
    expect(visitor.status).to_have_text("Su mensaje se ha recortado a 2.000 caracteres.")
    assert visitor.input.input_value() == "ñ" * 2000
    visitor.input.press("Enter")
    sent = visitor.panel.locator(".msg.user").last
    expect(sent).not_to_have_class(re.compile("pending|failed"))  # the server took it whole
    expect(visitor.status).to_have_text("")


def test_a_rep_takes_over_is_announced_and_named_and_the_dots_stay_away(browser, app, visitors):
    from playwright.sync_api import expect

    visitor = visit(visitors, browser, app)
    visitor.open()
    visitor.page.evaluate(DOTS_WATCH)
    visitor.send("Necesito un medidor de pH para agua potable")
    reply = visitor.panel.locator(".msg.assistant").nth(1)
    expect(reply).not_to_be_empty(timeout=30_000)
    replied_at = visitor.page.evaluate("Date.now()")
    time.sleep(1.5)
    dots = visitor.page.evaluate("window.__dots")
    assert [state for state, _ in dots][:1] == ["shown"], dots  # shown while the turn ran
    assert all(state == "hidden" for state, at in dots if at >= replied_at), dots
    expect(visitor.panel.locator(".typing")).to_be_hidden()

    # The rep (first name Laura) takes the conversation over in the desk.
    conversation = app.manage(
        "shell", "-c", CONVERSATION_OF.format(visitor=visitor.visitor_id())
    ).split()[-1]
    rep = visit(visitors, browser, app)
    rep.page.goto(f"{app.url}/admin/login/?next=/admin/crm/conversation/{conversation}/change/")
    rep.page.fill("input[name=username]", DEMO_REP[0])
    rep.page.fill("input[name=password]", DEMO_REP[1])
    rep.page.locator("input[type=submit]").click()
    expect(rep.page).to_have_url(re.compile(rf"/conversation/{conversation}/change/$"))
    rep.page.locator("input[form=desk-take-over-form]").click()

    joined = visitor.panel.locator(".joined")
    expect(joined).to_have_text("Laura, del equipo comercial, se ha unido a la conversación.")
    taken_at = visitor.page.evaluate("Date.now()")
    visitor.send("Gracias, espero.")
    expect(visitor.panel.locator(".msg.user").last).not_to_have_class(re.compile("pending"))
    time.sleep(1.5)  # no bot turn runs: no dots, nobody is typing
    dots = visitor.page.evaluate("window.__dots")
    assert all(state == "hidden" for state, at in dots if at >= taken_at), dots

    text = "Hola, soy Laura. Le preparo la oferta del medidor de pH hoy mismo."
    rep.page.fill("#desk-reply-text", text)
    rep.page.locator("input[form=desk-reply-form]").click()
    answer = visitor.panel.locator(".msg.agent").last
    expect(answer.locator(".who")).to_have_text("Laura · Equipo comercial", timeout=30_000)
    expect(answer.locator(".body")).to_have_text(text)
    if os.environ.get("SAVE_SCREENSHOTS"):
        visitor.page.screenshot(path=str(SCREENSHOTS / "widget-demo.png"))

    visitor.page.reload()  # the history says it all again, once
    visitor.page.locator(".bubble").click()
    expect(visitor.panel.locator(".joined")).to_have_count(1)
    expect(visitor.panel.locator(".msg.agent .who")).to_have_text("Laura · Equipo comercial")


def test_the_panel_fits_a_390_px_phone(browser, app, visitors):
    from playwright.sync_api import expect

    visitor = visit(visitors, browser, app, width=390, height=844)
    visitor.open()
    visitor.send("Catálogo: https://www.example.com/" + "turbidimetro-" * 30)  # no break point
    expect(visitor.panel.locator(".msg.assistant")).to_have_count(2, timeout=30_000)
    visitor.send("¿Y un turbidímetro portátil para campo?")
    expect(visitor.panel.locator(".msg.assistant")).to_have_count(3, timeout=30_000)

    page = visitor.page
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scroll
    log_overflow = page.evaluate(
        "(() => { const log = document.querySelector('#sales-widget').shadowRoot"
        ".querySelector('.log'); return log.scrollWidth - log.clientWidth; })()"
    )
    assert log_overflow <= 0
    for part in (visitor.panel, visitor.input, visitor.send_button):
        expect(part).to_be_visible()
        box = part.bounding_box()
        assert box is not None
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, (part, box)
        assert box["y"] >= 0 and box["y"] + box["height"] <= 844, (part, box)
    send = visitor.send_button.bounding_box()
    assert send is not None and send["width"] >= 44 and send["height"] >= 40  # a thumb's size
    if os.environ.get("SAVE_SCREENSHOTS"):
        page.screenshot(path=str(Path(SCREENSHOTS / "widget-mobile.png")))


def test_a_site_that_may_not_embed_the_chat_is_told_so_in_the_pages_language(
    browser, app, visitors
):
    """Refused before any "ready" (the origin is not allowed), the widget words the error
    code in the page's language (the demo page is Spanish), and stops reconnecting."""
    from playwright.sync_api import expect

    visitor = visit(visitors, browser, app)
    other_origin = app.url.replace("127.0.0.1", "localhost")  # not an allowed origin
    visitor.page.goto(f"{other_origin}/demo/")
    visitor.page.locator(".bubble").click()
    expect(visitor.status).to_have_text("Este chat no está disponible en este sitio.")
    expect(visitor.send_button).to_be_disabled()
    time.sleep(1.5)  # a retry would say "Reconectando…"
    expect(visitor.status).to_have_text("Este chat no está disponible en este sitio.")
