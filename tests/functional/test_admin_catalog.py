"""The catalog in the admin: a tenant admin uploads a file, the upload is processed
in the background (a django-tasks-db worker), progress and row errors show, the
error report downloads; sales reps cannot touch the catalog."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from catalog.models import CatalogUpload, Product
from catalog.search import search
from tenants.scoping import tenant_scope

# The background work runs in a real worker (manage.py worker), which closes its database
# connection when done: the test's data must be committed, not in a test transaction.
pytestmark = pytest.mark.django_db(transaction=True)

CSV = (
    "sku,name,price,description_html\n"
    "HL-1,Turbidímetro TU-1,1250,<p>0-1000 NTU</p>\n"
    ",Sin código,10,\n"
    "HL-3,Conductímetro,99.9,<p>µS/cm</p>\n"
).encode()


def xlsx():
    workbook = openpyxl.Workbook()
    workbook.active.append(["SKU", "Nombre", "Precio"])
    workbook.active.append(["HL-X1", "Sonda de pH", 120.5])
    workbook.active.append(["HL-X2", "Electrodo", "caro"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def upload(client, name, data, django_capture_on_commit_callbacks, **extra):
    """Upload the file, then confirm its preview with "Import"."""
    response = client.post(
        reverse("admin:catalog_catalogupload_add"),
        {"file": SimpleUploadedFile(name, data), **extra},
    )
    assert response.status_code == 302, response.context and response.context["errors"]
    assert "/preview/" in response.url
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(response.url, {"_import": "1"})


def run_worker():
    """What a production worker process does: run every queued task, then stop."""
    call_command("worker", "--batch", stdout=io.StringIO())


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("catalogo.csv", CSV, (2, 1, 3, "turbidimetro TU 1", "HL-1")),
        ("catalogo.xlsx", xlsx(), (1, 1, 3, "sonda de ph", "HL-X1")),
    ],
)
def test_tenant_admin_uploads_and_sees_progress_and_errors(
    client,
    owner,
    tenant_a,
    tenant_b,
    catalog_index,
    django_capture_on_commit_callbacks,
    name,
    data,
    expected,
):
    client.force_login(owner)
    response = upload(client, name, data, django_capture_on_commit_callbacks)
    with tenant_scope(tenant_a):
        item = CatalogUpload.objects.get()
    # The admin lands on the upload's own page, which follows its progress.
    assert response.status_code == 302
    assert response.url == reverse("admin:catalog_catalogupload_change", args=[item.pk])
    assert item.status == CatalogUpload.Status.QUEUED  # nothing ran in the request
    assert item.uploaded_by == owner and item.original_name == name
    page = client.get(response.url)
    assert b'http-equiv="refresh"' in page.content
    assert b"is queued" in page.content

    run_worker()

    item.refresh_from_db()
    created, failed, error_row, query, sku = expected
    assert item.status == CatalogUpload.Status.DONE
    assert (item.created_count, item.failed_count, item.progress_percent) == (created, failed, 100)
    assert item.errors[0]["row"] == error_row
    page = client.get(reverse("admin:catalog_catalogupload_change", args=[item.pk]))
    assert b'http-equiv="refresh"' not in page.content
    assert b"Download the error report" in page.content
    report = client.get(reverse("admin:catalog_catalogupload_errors", args=[item.pk]))
    rows = list(csv.reader(io.StringIO(report.content.decode("utf-8-sig"))))
    assert rows[0] == ["row", "sku", "reason"]
    assert rows[1][0] == str(error_row)
    with tenant_scope(tenant_a):
        assert Product.objects.count() == created
        assert search(tenant=tenant_a, query=query, k=3)[0].sku == sku
    with tenant_scope(tenant_b):
        assert search(tenant=tenant_b, query=query, k=3) == []


def test_a_broken_file_is_refused_at_the_preview_with_its_reason(client, owner, tenant_a):
    client.force_login(owner)
    response = client.post(
        reverse("admin:catalog_catalogupload_add"),
        {"file": SimpleUploadedFile("roto.xlsx", b"this is not a zip")},
    )
    page = client.get(response.url)
    assert page.status_code == 200
    assert "This file cannot be imported: this is not a valid .xlsx file" in page.content.decode()
    assert b'name="_import"' not in page.content
    refused = client.post(response.url, {"_import": "1"})
    assert refused.status_code == 400
    assert b"nothing to import" in refused.content
    with tenant_scope(tenant_a):
        assert not CatalogUpload.objects.exists()


def test_a_file_the_worker_cannot_read_fails_with_its_reason(client, owner, tenant_a):
    """A stored upload whose file turns out unreadable (the preview was bypassed) fails
    with the reason on its page."""
    from django.core.files.base import ContentFile

    from catalog.services import catalog_upload_process
    from tests.factories import CatalogUploadFactory

    with tenant_scope(tenant_a):
        item = CatalogUploadFactory(tenant=tenant_a, original_name="roto.xlsx")
        item.file.save("roto.xlsx", ContentFile(b"this is not a zip"))
        catalog_upload_process(upload=item)
        item.refresh_from_db()
    assert item.status == CatalogUpload.Status.FAILED
    assert "xlsx" in item.error_message


def test_wrong_file_type_is_a_form_error(client, owner, tenant_a):
    client.force_login(owner)
    response = client.post(
        reverse("admin:catalog_catalogupload_add"),
        {"file": SimpleUploadedFile("catalogo.pdf", b"%PDF")},
    )
    assert response.status_code == 200
    assert "Upload a .csv, .xlsx or .json file" in str(response.context["adminform"].form.errors)
    with tenant_scope(tenant_a):
        assert not CatalogUpload.objects.exists()


def test_sales_rep_cannot_upload_or_change_products(client, teammate, tenant_a, rows_a):
    client.force_login(teammate)
    assert client.get(reverse("admin:catalog_catalogupload_add")).status_code == 403
    assert client.get(reverse("admin:catalog_catalogupload_changelist")).status_code == 403
    product = rows_a[Product]
    assert client.get(reverse("admin:catalog_product_changelist")).status_code == 200
    response = client.post(
        reverse("admin:catalog_product_change", args=[product.pk]),
        {"sku": product.sku, "name": "Hackeado", "is_active": "on"},
    )
    assert response.status_code == 403
    product.refresh_from_db()
    assert product.name != "Hackeado"


def test_the_error_report_neutralises_formulas(client, owner, tenant_a):
    """The SKU and the reason quote the uploaded file: a cell a spreadsheet would run as a
    formula gets a leading quote, as in the opportunities' export (tenants.csv_export)."""
    from tests.factories import CatalogUploadFactory

    with tenant_scope(tenant_a):
        item = CatalogUploadFactory(
            tenant=tenant_a,
            status=CatalogUpload.Status.DONE,
            errors=[
                {"row": 2, "sku": '=HYPERLINK("http://evil.example","clic")', "reason": "x"},
                {"row": 3, "sku": "@SUM(A1:A9)", "reason": "-2+3 is not a price"},
                {"row": 4, "sku": "HL-1", "reason": "+cmd|' /C calc'!A0"},
            ],
        )
    client.force_login(owner)

    report = client.get(reverse("admin:catalog_catalogupload_errors", args=[item.pk]))

    assert report.status_code == 200
    assert report.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(report.content.decode("utf-8-sig"))))
    assert rows == [
        ["row", "sku", "reason"],
        ["2", '\'=HYPERLINK("http://evil.example","clic")', "x"],
        ["3", "'@SUM(A1:A9)", "'-2+3 is not a price"],
        ["4", "HL-1", "'+cmd|' /C calc'!A0"],
    ]
