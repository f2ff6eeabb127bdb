"""The channel accounts page in real Chromium: the copy buttons put the widget's embed
snippet and the webhook URL on the clipboard (static/desk/copy.js)."""

from __future__ import annotations

import json

from tests.functional.browser import app_env, browser, live_app, login, page  # noqa: F401


def test_tenant_admin_copies_the_embed_snippet(page, live_app):  # noqa: F811
    from playwright.sync_api import expect

    out = live_app.manage(
        "add_channel", "demo", "widget", "--name", "Sitio web",
        "--origin", "https://www.hidrolab.example", "--json",
    )  # fmt: skip
    account = json.loads(out)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_app.url)
    login(page, live_app.url)

    page.goto(f"{live_app.url}/admin/channels_app/channelaccount/")
    row = page.locator("#result_list tbody tr", has_text="Sitio web")
    socket = live_app.url.replace("http://", "ws://", 1)  # the widget's is its WebSocket
    webhook = f"{socket}/ws/widget/{account['key']}/"
    expect(row.locator("code")).to_have_text(webhook)
    row.get_by_role("button", name="Copy").click()
    expect(row.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == webhook

    row.locator("th a").click()
    snippet = page.locator(".field-embed_snippet")
    expect(snippet.locator("code")).to_have_text(account["snippet"])
    snippet.get_by_role("button", name="Copy").click()
    assert page.evaluate("navigator.clipboard.readText()") == account["snippet"]
    expect(snippet.get_by_role("button", name="Copy")).to_be_visible()  # the label comes back
