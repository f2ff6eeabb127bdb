"""The catalog upload page before anything is imported: the accepted formats and the
columns (the very list the import reads by), a sample CSV that the import reads back into
valid rows, and the preview (the first rows as they would be imported, every row error by
its row number, the counts) that the member confirms with Import or discards with Cancel.
Nothing is written before Import; a preview is the uploader's, in their tenant."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from catalog.columns import COLUMNS, SAMPLE_ROWS
from catalog.models import CatalogUpload, Product
from catalog.readers import read_catalog
from catalog.services import ImportSummary, columns_required, rows_parse
from tenants.models import Membership, Tenant
from tenants.scoping import scopes_disabled, tenant_scope
from tests.factories import CatalogUploadFactory, ProductFactory

pytestmark = pytest.mark.django_db

ADD = reverse("admin:catalog_catalogupload_add")
SAMPLE = reverse("admin:catalog_catalogupload_sample")

# 13 product rows: row 4 lacks its name, row 9 has a bad price, row 14 (after the first
# ten) a bad currency, row 6 repeats row 2 exactly; "notes" is not a catalog column.
CSV = (
    "Código;Nombre;Precio;Moneda;notes\n"
    "TU-1;Turbidímetro TU-1;1.250,50;EUR;x\n"
    "PH-2;pHmetro PH-2;640;EUR;\n"
    "CD-3;;99;EUR;sin nombre\n"
    "OD-4;Sonda OD-4;1980;USD;\n"
    "TU-1;Turbidímetro TU-1;1.250,50;EUR;x\n"
    "CL-6;Fotómetro CL-6;;;\n"
    "SA-7;Salinómetro SA-7;300;EUR;\n"
    "XX-8;Caro;mucho;EUR;\n"
    "RE-9;Refractómetro RE-9;120;EUR;\n"
    "CO-10;Colorímetro CO-10;410;EUR;\n"
    "TE-11;Termómetro TE-11;35;EUR;\n"
    "BA-12;Balanza BA-12;250;EURO;\n"
).encode()


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def _preview(client: Client, name: str, data: bytes, **extra: str) -> str:
    response = client.post(ADD, {"file": SimpleUploadedFile(name, data), **extra})
    assert response.status_code == 302, response.context and response.context["errors"]
    return response.url


def _stored_previews(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT) / "catalog_previews"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def _speak(tenant: Tenant, user, language: str) -> None:
    with scopes_disabled():
        Membership.objects.filter(user=user).update(language=language)
    Tenant.objects.filter(pk=tenant.pk).update(default_language=language)


# ---- the upload page ----------------------------------------------------------------


def test_the_upload_page_lists_formats_columns_and_the_sample(client, owner):
    client.force_login(owner)
    html = client.get(ADD).content.decode()
    for text in ("CSV", "UTF-8", "Windows-1252", "Latin-1", "XLSX", "JSON"):
        assert text in html, text
    for column in COLUMNS:
        assert f"<td><code>{column.name}</code></td>" in html
        assert str(column.meaning).replace("'", "&#x27;") in html, column.name
        for alias in column.aliases:
            assert alias in html
    required = html.count('class="upload-required"')
    assert required == sum(c.required for c in COLUMNS) == 2
    assert f'href="{SAMPLE}"' in html
    assert 'value="Preview"' in html and "_addanother" not in html


def test_the_sample_csv_reads_back_into_valid_rows_in_english(client, owner, tenant_a):
    _speak(tenant_a, owner, "en")
    client.force_login(owner)
    response = client.get(SAMPLE)
    assert response.status_code == 200
    assert 'filename="catalog-sample.csv"' in response["Content-Disposition"]
    text = response.content.decode("utf-8")
    assert text.splitlines()[0] == "\ufeff" + ",".join(c.name for c in COLUMNS)
    assert 3 <= len(SAMPLE_ROWS) <= 5
    _reads_back(response.content, "catalog-sample.csv")


def test_the_sample_csv_in_spanish_uses_semicolons_and_reads_back(client, owner, tenant_a):
    _speak(tenant_a, owner, "es")
    client.force_login(owner)
    response = client.get(SAMPLE)
    header = response.content.decode("utf-8").splitlines()[0]
    assert header == "\ufeff" + ";".join(c.name for c in COLUMNS)
    assert "1250,50" in response.content.decode()
    _reads_back(response.content, "muestra.csv")


def _reads_back(data: bytes, name: str) -> None:
    header, rows = read_catalog(io.BytesIO(data), name)
    summary = ImportSummary()
    valid, _ = rows_parse(rows, columns_required(header), summary)
    assert summary.errors == [] and summary.total == len(SAMPLE_ROWS)
    by_sku = {data.sku: data for _, data, _ in valid}
    assert set(by_sku) == {row["sku"] for row in SAMPLE_ROWS}
    assert by_sku["TU-2100"].price == Decimal("1250.50")
    assert by_sku["TU-2100"].specs_html.startswith("<ul><li>Rango: 0-1000 NTU")
    assert by_sku["CL-7"].price is None and by_sku["CL-7"].is_active is False


def test_a_sales_rep_gets_neither_the_sample_nor_a_preview(client, owner, teammate, settings):
    client.force_login(owner)
    url = _preview(client, "catalogo.csv", CSV)
    rep = Client()
    rep.force_login(teammate)
    assert rep.get(SAMPLE).status_code == 403
    assert rep.get(url).status_code == 403
    assert rep.post(url, {"_import": "1"}).status_code == 403


# ---- the preview ----------------------------------------------------------------------


def test_the_preview_shows_rows_errors_and_counts_and_writes_nothing(
    client, owner, tenant_a, settings
):
    with tenant_scope(tenant_a):
        ProductFactory(tenant=tenant_a, sku="PH-2", name="pHmetro viejo")
    client.force_login(owner)
    url = _preview(client, "catalogo.csv", CSV)
    response = client.get(url)
    assert response.status_code == 200
    preview = response.context["preview"]
    assert (preview.total, preview.ready, preview.failed) == (12, 8, 3)
    assert (preview.new, preview.existing) == (7, 1)
    assert [row.number for row in preview.rows] == list(range(2, 12))  # the first ten
    states = {row.number: row.state for row in preview.rows}
    assert states[2] == "new" and states[3] == "update" and states[6] == "repeat"
    assert states[4] == states[9] == "error"
    html = response.content.decode()
    assert "<strong>12</strong> product rows read: <strong>8</strong> ready to import" in html
    assert "(7 new, 1 already in the catalog), <strong>3</strong> with errors" in html
    assert '<tr class="upload-state-error" data-row="4">' in html
    row4 = html[html.index('data-row="4"') :]
    assert '<td class="upload-reason">missing name</td>' in row4[: row4.index("</tr>")]
    row9 = html[html.index('data-row="9"') :]
    assert "bad price &#x27;mucho&#x27;" in row9[: row9.index("</tr>")]
    # the row after the first ten is in the other errors' table
    later = html[html.index('id="upload-later-errors"') :]
    assert "<td>13</td><td>BA-12</td><td>bad currency" in later
    assert "<code>Código</code> → sku" in html and "<code>notes</code>" in html
    assert "1250.50" in html or "1.250,50" in html or "1250,50" in html
    assert 'value="Import 8 products"' in html
    # nothing imported, nothing recorded: the file waits in the tenant's preview folder
    with tenant_scope(tenant_a):
        assert not CatalogUpload.objects.exists()
        assert list(Product.objects.values_list("sku", flat=True)) == ["PH-2"]
    [stored] = _stored_previews(settings)
    assert f"catalog_previews/{tenant_a.pk}/" in stored.as_posix()


def test_import_confirms_the_preview_without_uploading_again(
    client, owner, tenant_a, settings, django_capture_on_commit_callbacks
):
    client.force_login(owner)
    url = _preview(client, "catalogo.csv", CSV, full_sync="on")
    assert client.get(url).context["full_sync"] is True
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(url, {"_import": "1"})
    with tenant_scope(tenant_a):
        item = CatalogUpload.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("admin:catalog_catalogupload_change", args=[item.pk])
    assert len(callbacks) == 1  # the import task, queued after the commit
    assert item.status == CatalogUpload.Status.QUEUED
    assert (item.original_name, item.uploaded_by, item.full_sync) == ("catalogo.csv", owner, True)
    with item.file.open("rb") as stored:
        assert stored.read() == CSV
    assert _stored_previews(settings) == []  # the preview's copy is gone
    assert client.get(url).status_code == 404  # a preview is imported once
    assert client.post(url, {"_import": "1"}).status_code == 404
    with tenant_scope(tenant_a):
        assert CatalogUpload.objects.count() == 1


def test_full_sync_preview_counts_what_it_would_deactivate(client, owner, tenant_a):
    with tenant_scope(tenant_a):
        ProductFactory(tenant=tenant_a, sku="OLD-1")
        ProductFactory(tenant=tenant_a, sku="OLD-2", is_active=False)
        ProductFactory(tenant=tenant_a, sku="TU-1")
    client.force_login(owner)
    html = client.get(_preview(client, "c.csv", CSV, full_sync="on")).content.decode()
    assert "Full sync: 1 active product that is not in this file will be deactivated." in html


def test_cancel_discards_the_file(client, owner, tenant_a, settings):
    client.force_login(owner)
    url = _preview(client, "catalogo.csv", CSV)
    assert len(_stored_previews(settings)) == 1
    response = client.post(url, {"_cancel": "1"})
    assert response.status_code == 302 and response.url == ADD
    assert _stored_previews(settings) == []
    assert client.get(url).status_code == 404
    with tenant_scope(tenant_a):
        assert not CatalogUpload.objects.exists()


def test_a_file_without_a_required_column_cannot_be_imported(client, owner, tenant_a):
    client.force_login(owner)
    url = _preview(client, "c.csv", b"sku,precio\nA-1,10\n")
    html = client.get(url).content.decode()
    assert "This file cannot be imported: the file has no name column" in html
    assert 'name="_import"' not in html and "Upload another file" in html
    assert client.post(url, {"_import": "1"}).status_code == 400
    with tenant_scope(tenant_a):
        assert not CatalogUpload.objects.exists()


def test_xlsx_and_json_are_previewed_too(client, owner):
    import json

    import openpyxl

    workbook = openpyxl.Workbook()
    workbook.active.append(["SKU", "Nombre", "Precio"])
    workbook.active.append(["HL-X1", "Sonda de pH", 120.5])
    workbook.active.append(["HL-X2", "Electrodo", "caro"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    client.force_login(owner)
    preview = client.get(_preview(client, "c.xlsx", buffer.getvalue())).context["preview"]
    assert (preview.total, preview.ready, preview.failed) == (2, 1, 1)
    assert preview.rows[1].number == 3 and "bad price" in preview.rows[1].error
    data = json.dumps({"products": [{"sku": "J-1", "name": "Sonda"}, {"sku": "J-2"}]})
    preview = client.get(_preview(client, "c.json", data.encode())).context["preview"]
    assert [(r.number, r.state, r.error) for r in preview.rows] == [
        (1, "new", ""),
        (2, "error", "missing name"),
    ]


def test_a_preview_is_the_uploaders_in_their_tenant(client, owner, outsider, tenant_a, settings):
    client.force_login(owner)
    url = _preview(client, "catalogo.csv", CSV)
    other = Client()
    other.force_login(outsider)  # tenant B's admin, with the token
    assert other.get(url).status_code == 404
    assert other.post(url, {"_import": "1"}).status_code == 404
    same_tenant_other_session = Client()
    same_tenant_other_session.force_login(owner)
    assert same_tenant_other_session.get(url).status_code == 404
    assert client.get(url).status_code == 200  # still the uploader's
    with scopes_disabled():
        assert not CatalogUpload.objects.exists()
    assert len(_stored_previews(settings)) == 1


def test_an_unknown_preview_is_404(client, owner):
    client.force_login(owner)
    url = reverse("admin:catalog_catalogupload_preview", args=["not-a-token"])
    assert client.get(url).status_code == 404


def test_old_previews_are_swept_and_a_session_keeps_five(client, owner, tenant_a, settings):
    import os
    import time

    client.force_login(owner)
    first = _preview(client, "a.csv", CSV)
    [stale] = _stored_previews(settings)
    old = time.time() - 2 * 86400
    os.utime(stale, (old, old))
    _preview(client, "b.csv", CSV)  # sweeps the tenant's previews older than a day
    assert stale not in _stored_previews(settings)
    assert client.get(first).status_code == 404  # its file is gone: upload again
    for name in "cdefg":
        _preview(client, f"{name}.csv", CSV)
    assert len(_stored_previews(settings)) == 5


# ---- downloads follow the member's CSV convention --------------------------------------


@pytest.mark.parametrize(("language", "delimiter"), [("es", ";"), ("en", ",")])
def test_the_error_report_follows_the_language(client, owner, tenant_a, language, delimiter):
    _speak(tenant_a, owner, language)
    with tenant_scope(tenant_a):
        item = CatalogUploadFactory(
            tenant=tenant_a,
            status=CatalogUpload.Status.DONE,
            errors=[{"row": 2, "sku": "=X", "reason": "bad price '1,5;2'"}],
        )
    client.force_login(owner)
    report = client.get(reverse("admin:catalog_catalogupload_errors", args=[item.pk]))
    text = report.content.decode("utf-8-sig")
    assert text.splitlines()[0] == delimiter.join(["row", "sku", "reason"])
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    assert rows[1] == ["2", "'=X", "bad price '1,5;2'"]
