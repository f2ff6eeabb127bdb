"""The desk in the demo tenant's Spanish, in Chromium: a rep who follows the tenant reads
the conversation page (buttons, state, the live status line that conversation.js writes)
in Spanish, then switches to English from the user tools."""

from __future__ import annotations

import re

from tests.functional.browser import (  # noqa: F401
    DEMO_REP,
    app_env,
    browser,
    live_app,
    login,
    page,
)


def test_a_rep_reads_the_desk_in_spanish_then_switches_to_english(live_app, page):  # noqa: F811
    from playwright.sync_api import expect

    login(page, live_app.url, *DEMO_REP, language="")  # follows the demo tenant: Spanish
    expect(page.locator("#user-tools")).to_contain_text("Idioma (español)")
    expect(page.locator("#site-name")).to_contain_text("Mesa comercial")

    page.goto(f"{live_app.url}/admin/crm/conversation/")
    page.locator("#result_list tbody tr a[href$='/change/']").first.click()
    expect(page).to_have_url(re.compile(r"/conversation/\d+/change/$"))
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.locator(".desk-live-status")).to_contain_text("En vivo", timeout=10_000)
    expect(page.get_by_role("heading", name="Transcripción")).to_be_visible()

    # The user tools' language link: back to the same page, in English.
    page.locator("#user-tools a", has_text="Idioma").click()
    page.select_option("select[name=language]", "en")
    page.click("#content-main input[type=submit]")
    expect(page).to_have_url(re.compile(r"/conversation/\d+/change/$"))
    expect(page.locator(".messagelist")).to_contain_text("Your language was saved.")
    expect(page.locator(".desk-live-status")).to_contain_text("Live", timeout=10_000)
    expect(page.get_by_role("heading", name="Transcript")).to_be_visible()
