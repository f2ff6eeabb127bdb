"""The REST API's docs page (/api/v1/docs) in real Chromium: Swagger UI from the app's
own static files renders every operation under the site's Content-Security-Policy (no
CDN: the app runs with no internet), and a request from the page reaches the API."""

from __future__ import annotations

import re

from tests.functional.browser import app_env, browser, live_app, page  # noqa: F401


def test_docs_render_every_operation_with_no_csp_violation(live_app, page):  # noqa: F811
    from playwright.sync_api import expect

    output = live_app.manage("add_channel", "demo", "api", "--name", "CRM")
    key = re.search(r"API key \(shown once, store it\): (\S+)", output)
    assert key, output
    external: list[str] = []
    page.on(
        "request",
        lambda request: (
            None if request.url.startswith(live_app.url) else external.append(request.url)
        ),
    )

    response = page.goto(f"{live_app.url}/api/v1/docs")
    assert response is not None and response.status == 200
    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Sales agent CRM API")
    operations = page.locator(".opblock-summary-path")
    expect(operations.first).to_be_visible()
    paths = set(operations.all_inner_texts())
    assert {"/api/v1/contacts", "/api/v1/opportunities/{opportunity_id}", "/api/v1/messages"} <= {
        path.replace("\u200b", "") for path in paths
    }
    assert external == []  # nothing from a CDN or elsewhere
    status = page.evaluate(
        "key => fetch('/api/v1/contacts?limit=1', {headers: {'X-API-Key': key}})"
        ".then(r => r.status)",
        key.group(1),
    )
    assert status == 200
