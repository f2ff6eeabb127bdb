"""A tenant admin uploads a catalog in real Chromium: the upload's page follows its
progress (reloading itself while the in-process worker runs), shows the bad row, and
the good product is then listed on the products page."""

from __future__ import annotations

import re

from tests.functional.browser import app_env, browser, live_app, login, page  # noqa: F401

CSV = (
    "sku,name,price,category,brand\n"
    "BR-100,Turbidímetro de navegador TB-1,1250,Turbidímetros,Hidrolab\n"
    "BR-101,,10,Sondas,Hidrolab\n"
).encode()


def test_tenant_admin_uploads_a_catalog_and_follows_its_progress(page, live_app):  # noqa: F811
    from playwright.sync_api import expect

    login(page, live_app.url)
    page.goto(f"{live_app.url}/admin/catalog/catalogupload/add/")
    page.set_input_files(
        "input[name=file]",
        files=[{"name": "catalogo.csv", "mimeType": "text/csv", "buffer": CSV}],
    )
    loads: list[str] = []
    page.on("load", lambda p: loads.append(p.url))
    page.click("input[name=_save]")
    expect(page).to_have_url(re.compile(r"/admin/catalog/catalogupload/preview/[\w-]+/$"))
    loads.clear()  # from the upload's own page on
    page.click("input[name=_import]")  # the preview's own flow: test_desk_browser_upload_preview

    expect(page).to_have_url(re.compile(r"/admin/catalog/catalogupload/\d+/change/$"))
    status = page.locator(".field-status .readonly")
    first_status = status.inner_text()
    expect(status).to_have_text("Done", timeout=120_000)
    if first_status != "Done":
        assert len(loads) >= 2, loads  # it reloaded itself while the upload ran
    expect(page.locator('meta[http-equiv="refresh"]')).to_have_count(0)
    expect(page.locator(".field-counts .readonly")).to_contain_text("1 created")

    errors = page.locator("table.upload-errors tbody tr")
    expect(errors).to_have_count(1)
    expect(errors.locator("td")).to_have_text(["3", "BR-101", "missing name"])

    page.goto(f"{live_app.url}/admin/catalog/product/")
    page.fill("#searchbar", "BR-100")
    page.press("#searchbar", "Enter")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("BR-100")
    expect(rows.first).to_contain_text("Turbidímetro de navegador TB-1")
