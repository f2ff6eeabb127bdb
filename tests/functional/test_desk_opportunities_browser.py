"""The opportunities list and page in real Chromium at 1,400 px: every column fits (the age
is never cut or wrapped), the deal's value shows with its currency, and a rep edits the
next step on the page, which the audit trail then shows.

``SAVE_SCREENSHOTS=1`` refreshes the README's docs/screenshots/desk-opportunity.png."""

from __future__ import annotations

import json
import os

from tests.functional.browser import (  # noqa: F401
    DEMO_REP,
    ROOT,
    app_env,
    browser,
    live_app,
    login,
    page,
)

SCREENSHOTS = ROOT / "docs" / "screenshots"

# The demo's rep reads the desk in English (the assertions' language); Laura's opportunity
# gets a deal through the CRM services, as the rep, and a long problem statement.
SETUP = """
import json
from datetime import date
from decimal import Decimal
from crm.audit import Actor
from crm.models import LeadOpportunity
from crm.services import opportunity_edit
from tenants.models import Membership, Tenant
from tenants.scoping import scopes_disabled, tenant_scope
with scopes_disabled():
    Membership.objects.filter(user__email='rep@demo.example').update(language='en')
    rep = Membership.objects.get(user__email='rep@demo.example').user
tenant = Tenant.objects.get(slug="demo")
with tenant_scope(tenant):
    opportunity = LeadOpportunity.objects.filter(contact__full_name__startswith="Laura").first()
    opportunity.value, opportunity.currency = Decimal("3450"), "EUR"
    opportunity.expected_close_date = date(2027, 1, 29)
    opportunity.next_step = "Send the quote for the TU-5200 with the calibration kit"
    opportunity_edit(
        opportunity=opportunity,
        changed=["value", "currency", "expected_close_date", "next_step"],
        actor=Actor.rep(rep),
        created=False,
    )
    print(json.dumps({"opportunity": opportunity.pk}))
"""

# Whether an element's text lies on one line, inside the list's box (the admin scrolls a
# table wider than its box sideways: what lies beyond it is cut off).
ONE_LINE_IN_VIEW = """(el) => {
  const range = document.createRange();
  range.selectNodeContents(el);
  const lines = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
  const box = el.getBoundingClientRect();
  const list = el.closest(".results").getBoundingClientRect();
  return {lines: lines.size, right: box.right, limit: Math.min(list.right, window.innerWidth),
          clipped: el.scrollWidth > el.clientWidth};
}"""


def test_the_list_fits_1400_px_and_a_rep_edits_the_next_step(page, live_app):  # noqa: F811
    from playwright.sync_api import expect

    setup = json.loads(live_app.manage("shell", "-c", SETUP).strip().splitlines()[-1])
    page.set_viewport_size({"width": 1400, "height": 1000})
    login(page, live_app.url, *DEMO_REP)
    page.goto(f"{live_app.url}/admin/crm/leadopportunity/")

    rows = page.locator("#result_list tbody tr")
    assert rows.count() >= 1
    for box in ("document.documentElement", "document.querySelector('#changelist .results')"):
        overflow = page.evaluate(f"{box}.scrollWidth - {box}.clientWidth")
        assert overflow <= 0, f"{box} is {overflow} px wider than its box"
    for name in ("age", "deal_value", "expected_close", "assigned_rep_name"):
        for cell in page.locator(f"#result_list td.field-{name}").all():
            shape = cell.evaluate(ONE_LINE_IN_VIEW)
            assert shape["lines"] <= 1 and not shape["clipped"], (name, shape)
            assert shape["right"] <= shape["limit"], (name, shape)
    expect(page.locator("#result_list td.field-deal_value").first).to_have_text("EUR\xa03,450.00")
    expect(page.locator("#result_list")).to_contain_text("Send the quote for the TU-5200")

    page.goto(f"{live_app.url}/admin/crm/leadopportunity/{setup['opportunity']}/change/")
    expect(page.locator("input[name=value]")).to_have_value("3450.00")
    expect(page.locator("input[name=currency]")).to_have_value("EUR")
    expect(page.locator(".field-crm_opportunity_id")).to_be_visible()
    page.fill("input[name=next_step]", "Demo at the plant on Monday")
    page.click("input[name=_continue]")
    expect(page.locator("input[name=next_step]")).to_have_value("Demo at the plant on Monday")
    trail = page.locator(".field-audit_trail")
    expect(trail).to_contain_text("Demo at the plant on Monday")
    expect(trail).to_contain_text("Send the quote for the TU-5200 with the calibration kit")
    if os.environ.get("SAVE_SCREENSHOTS"):
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(SCREENSHOTS / "desk-opportunity.png"))
