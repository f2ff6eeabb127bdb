"""The Content-Security-Policy in real Chromium: the admin, the desk's pages (dashboard
with its inline SVG charts, a conversation with its live socket, an opportunity), the
two-factor pages and /demo/ with the widget all work under it, and none reports a
violation (the page's ``securitypolicyviolation`` events and Chromium's console)."""

from __future__ import annotations

import json

from tests.functional.browser import (  # noqa: F401
    CspWatch,
    app_env,
    browser,
    live_app,
    login,
    page,
)

IDS = """
import json
from crm.models import LeadOpportunity
from tenants.models import Tenant
from tenants.scoping import tenant_scope
with tenant_scope(Tenant.objects.get(slug="demo")):
    opportunity = LeadOpportunity.objects.latest("created_at")
    print(json.dumps({"opportunity": opportunity.pk, "conversation": opportunity.conversation_id}))
"""


def test_admin_desk_and_demo_pages_report_no_csp_violation(live_app, page):  # noqa: F811
    from playwright.sync_api import expect

    live_app.manage(
        "add_channel", "demo", "widget", "--name", "Demo widget", "--origin", live_app.url,
        "--greeting", "¡Hola! Soy Ana.",
    )  # fmt: skip
    ids = json.loads(live_app.manage("shell", "-c", IDS).strip().splitlines()[-1])
    watch = CspWatch(page)
    base = live_app.url

    login(page, base)
    assert watch.violations() == []
    expect(page.locator("svg.desk-chart").first).to_be_visible()  # the dashboard's charts
    assert watch.violations() == []

    response = page.goto(f"{base}/admin/crm/conversation/{ids['conversation']}/change/")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    expect(page.locator(".desk-live-status")).to_contain_text("Live", timeout=10_000)
    assert watch.violations() == []

    for path in (
        f"/admin/crm/leadopportunity/{ids['opportunity']}/change/",
        "/admin/crm/conversation/",
        "/admin/tenants/membership/add/",
        "/admin/2fa/",
        "/admin/2fa/setup/",
    ):
        page.goto(base + path)
        expect(page.locator("#content")).to_be_visible()
        assert watch.violations() == [], path
    expect(page.locator(".two-factor-qr svg")).to_be_visible()

    page.goto(f"{base}/demo/")
    page.locator(".bubble").click()  # the widget's styles apply: the bubble is a fixed button
    panel = page.locator(".panel")
    expect(panel).to_be_visible()
    expect(panel.locator(".msg.assistant").first).to_have_text("¡Hola! Soy Ana.")
    expect(panel.locator("form button")).to_be_enabled()  # its WebSocket is open
    assert (
        page.evaluate(
            "getComputedStyle(document.querySelector('#sales-widget').shadowRoot"
            ".querySelector('.bubble')).position"
        )
        == "fixed"
    )
    assert watch.violations() == []


def test_the_watch_sees_a_violation(live_app, browser):  # noqa: F811
    """The check is not vacuous: an injected inline script is refused and reported."""
    tab = browser.new_page()
    try:
        watch = CspWatch(tab)
        tab.goto(f"{live_app.url}/admin/login/")
        tab.evaluate(
            "() => { const s = document.createElement('script');"
            " s.textContent = 'window.__ran = true'; document.body.append(s); }"
        )
        tab.wait_for_timeout(200)
        assert tab.evaluate("window.__ran === undefined")
        assert any("script-src" in violation for violation in watch.violations())
    finally:
        tab.close()
