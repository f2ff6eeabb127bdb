"""The catalog upload's preview in real Chromium: a tenant admin sees the formats, the
columns and the sample on the upload page, uploads a CSV with one bad row, sees every row
and the error on its row number before anything is imported, imports without uploading
again, and the good products are then in the catalog.

``SAVE_SCREENSHOTS=1`` refreshes the README's docs/screenshots/admin-catalog-upload.png."""

from __future__ import annotations

import os
import re
from pathlib import Path

from tests.functional.browser import ROOT, app_env, browser, live_app, login, page  # noqa: F401

SCREENSHOTS = ROOT / "docs" / "screenshots"

CSV = (
    "sku;nombre;precio;moneda;categoría\n"
    "PV-1;Turbidímetro de vista previa PV-1;1.250,50;EUR;Turbidímetros\n"
    "PV-2;pHmetro de vista previa PV-2;640;EUR;Medidores de pH\n"
    "PV-3;;99;EUR;Conductímetros\n"
    "PV-4;Sonda de vista previa PV-4;1980;USD;Oxígeno disuelto\n"
).encode()


# The demo's tenant admin reads the desk in English here, the language of the assertions.
IN_ENGLISH = (
    "from tenants.models import Membership; from tenants.scoping import scopes_disabled\n"
    "with scopes_disabled():\n"
    "    Membership.objects.filter(user__email='admin@demo.example').update(language='en')"
)


def test_upload_preview_then_import(page, live_app):  # noqa: F811
    from playwright.sync_api import expect

    live_app.manage("shell", "-c", IN_ENGLISH)
    login(page, live_app.url)
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.goto(f"{live_app.url}/admin/catalog/catalogupload/add/")
    columns = page.locator("table.upload-columns tbody tr")
    expect(columns).to_have_count(10)
    expect(page.locator("tr.upload-required")).to_have_count(2)
    expect(page.locator(".upload-formats")).to_contain_text("XLSX")
    with page.expect_download() as download:
        page.click("#upload-sample")
    assert download.value.suggested_filename == "catalog-sample.csv"
    assert "TU-2100" in Path(download.value.path()).read_text(encoding="utf-8-sig")

    page.set_input_files(
        "input[name=file]",
        files=[{"name": "vista.csv", "mimeType": "text/csv", "buffer": CSV}],
    )
    page.click("input[name=_save]")

    expect(page).to_have_url(re.compile(r"/admin/catalog/catalogupload/preview/[\w-]+/$"))
    expect(page.locator("#upload-counts")).to_contain_text(
        "4 product rows read: 3 ready to import (3 new, 0 already in the catalog), 1 with errors"
    )
    rows = page.locator("#upload-preview tbody tr")
    expect(rows).to_have_count(4)
    bad = page.locator('#upload-preview tr[data-row="4"]')
    expect(bad).to_have_class(re.compile("upload-state-error"))
    expect(bad.locator(".upload-reason")).to_have_text("missing name")
    expect(page.locator('#upload-preview tr[data-row="2"] .upload-state')).to_have_text("new")
    if os.environ.get("SAVE_SCREENSHOTS"):  # the README's picture
        page.screenshot(path=str(SCREENSHOTS / "admin-catalog-upload.png"), full_page=True)
    # nothing imported yet
    page.goto(f"{live_app.url}/admin/catalog/product/?q=PV-")
    expect(page.locator("#result_list")).to_have_count(0)
    page.go_back()

    page.click("input[name=_import]")
    expect(page).to_have_url(re.compile(r"/admin/catalog/catalogupload/\d+/change/$"))
    expect(page.locator(".field-status .readonly")).to_have_text("Done", timeout=120_000)
    expect(page.locator(".field-counts .readonly")).to_contain_text("3 created")
    expect(page.locator("table.upload-errors tbody tr td")).to_have_text(
        ["4", "PV-3", "missing name"]
    )

    page.goto(f"{live_app.url}/admin/catalog/product/?q=PV-")
    listed = page.locator("#result_list tbody tr")
    expect(listed).to_have_count(3)
    expect(page.locator("#result_list")).to_contain_text("Turbidímetro de vista previa PV-1")
    expect(page.locator("#result_list")).not_to_contain_text("PV-3")
