"""Catalog imports on a real database, with the real embedding model and a real
Chroma directory: formats, encodings, bad rows, idempotency, full sync, drift."""

from __future__ import annotations

import io
import json

import openpyxl
import pytest

from catalog.index import index_drift, index_rebuild, index_remove, indexed_entries
from catalog.models import Product
from catalog.readers import CatalogFileError
from catalog.services import catalog_import, products_restore, products_soft_delete
from tenants.scoping import tenant_scope

pytestmark = pytest.mark.django_db

HEADER = ["sku", "name", "category", "brand", "price", "currency", "description_html", "specs_html"]
ROWS = [
    [
        "HL-TUR-100",
        "Turbidímetro portátil TU-5200",
        "Turbidímetros",
        "Hidrolab",
        "1.250,50",
        "USD",
        "<p>Medición de <b>turbidez</b>&nbsp;en agua potable</p><ul><li>Batería</li></ul>",
        "<table><tr><td>Rango</td><td>0-1000 NTU</td></tr></table>",
    ],
    [
        "HL-PH-200",
        "Medidor de pH de mesa PH-300",
        "pH",
        "Hidrolab",
        "480",
        "USD",
        "<p>pH de laboratorio con compensación de temperatura 0-100 °C</p>",
        "",
    ],
    [
        "AQ-CON-300",
        "Conductímetro CD-40",
        "Conductividad",
        "AquaSense",
        "610.00",
        "EUR",
        "<p>Conductividad 0-200 mS/cm, resolución 0,1 µS/cm</p>",
        "",
    ],
]


def csv_bytes(rows, *, encoding="utf-8", bom=False, sep=","):
    lines = [sep.join(HEADER)] + [
        sep.join('"' + str(v).replace('"', '""') + '"' for v in row) for row in rows
    ]
    data = ("\n".join(lines) + "\n").encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def xlsx_bytes(rows):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(HEADER)
    for row in rows:
        sheet.append(
            [
                float(r.replace(".", "").replace(",", ".")) if i == 4 else r
                for i, r in enumerate(row)
            ]
        )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def json_bytes(rows):
    return json.dumps([dict(zip(HEADER, row, strict=True)) for row in rows]).encode()


def run_import(tenant, data, filename, **kwargs):
    with tenant_scope(tenant):
        return catalog_import(tenant=tenant, fileobj=io.BytesIO(data), filename=filename, **kwargs)


@pytest.mark.parametrize(
    ("filename", "data"),
    [
        ("catalog.csv", csv_bytes(ROWS)),
        ("catalog-bom.csv", csv_bytes(ROWS, bom=True)),
        ("catalog-latin1.csv", csv_bytes(ROWS, encoding="latin-1", sep=";")),
        ("catalog.xlsx", xlsx_bytes(ROWS)),
        ("catalog.json", json_bytes(ROWS)),
    ],
    ids=["csv-utf8", "csv-utf8-bom", "csv-latin1-semicolon", "xlsx", "json"],
)
def test_every_format_imports_the_same_products(filename, data, tenant_a, catalog_index):
    summary = run_import(tenant_a, data, filename)
    assert (summary.created, summary.failed, summary.errors) == (3, 0, [])
    with tenant_scope(tenant_a):
        turbidity = Product.objects.get(sku="HL-TUR-100")
        conductivity = Product.objects.get(sku="AQ-CON-300")
        assert str(turbidity.price) == "1250.50"
        assert turbidity.name == "Turbidímetro portátil TU-5200"
        assert "turbidez en agua potable" in turbidity.clean_text
        assert "- Batería" in turbidity.clean_text
        assert "0-1000 NTU" in turbidity.clean_text
        assert "0,1 µS/cm" in conductivity.clean_text
        assert index_drift(tenant=tenant_a).clean
        assert len(indexed_entries(tenant=tenant_a)) == 3


def test_reimport_is_idempotent_and_changes_are_updates(tenant_a, catalog_index):
    run_import(tenant_a, csv_bytes(ROWS), "c.csv")
    with tenant_scope(tenant_a):
        before = {p.sku: p.updated_at for p in Product.objects.all()}
    again = run_import(tenant_a, csv_bytes(ROWS), "c.csv")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    with tenant_scope(tenant_a):
        assert {p.sku: p.updated_at for p in Product.objects.all()} == before
    changed = [list(r) for r in ROWS]
    changed[1][4] = "499"
    summary = run_import(tenant_a, csv_bytes(changed), "c.csv")
    assert (summary.created, summary.updated, summary.unchanged) == (0, 1, 2)
    with tenant_scope(tenant_a):
        assert str(Product.objects.get(sku="HL-PH-200").price) == "499.00"
        assert index_drift(tenant=tenant_a).clean


def test_full_sync_deactivates_absent_products_and_reactivates_them(tenant_a, catalog_index):
    run_import(tenant_a, csv_bytes(ROWS), "c.csv")
    summary = run_import(tenant_a, csv_bytes(ROWS[:2]), "c.csv", full_sync=True)
    assert (summary.unchanged, summary.deactivated) == (2, 1)
    with tenant_scope(tenant_a):
        assert not Product.objects.get(sku="AQ-CON-300").is_active
        assert {m["sku"] for m in indexed_entries(tenant=tenant_a).values()} == {
            "HL-TUR-100",
            "HL-PH-200",
        }
        assert index_drift(tenant=tenant_a).clean
    # without full sync an absent product is left alone
    assert run_import(tenant_a, csv_bytes(ROWS[:1]), "c.csv").deactivated == 0
    back = run_import(tenant_a, csv_bytes(ROWS), "c.csv")
    assert (back.updated, back.unchanged) == (1, 2)
    with tenant_scope(tenant_a):
        assert Product.objects.get(sku="AQ-CON-300").is_active


def test_bad_rows_are_reported_and_good_rows_imported(tenant_a, catalog_index):
    rows = [
        ROWS[0],
        ["", "Sin código", "", "", "10", "USD", "", ""],
        ["HL-X-1", "Precio malo", "", "", "diez", "USD", "", ""],
        ["HL-PH-200", "Medidor de pH", "pH", "Hidrolab", "480", "USD", "", ""],
        ["HL-PH-200", "Otro nombre", "pH", "Hidrolab", "999", "USD", "", ""],
        ["HL-TUR-100", *ROWS[0][1:]],  # an exact repeat is not an error
        ["HL-LONG", "N" * 301, "", "", "1", "USD", "", ""],
        ["HL-NEG", "Negativo", "", "", "-5", "USD", "", ""],
    ]
    data = csv_bytes(rows)
    data += b'"HL-BIN","Nombre \xff\xfe\xfa roto","","","1","USD","",""\n'
    summary = run_import(tenant_a, data, "c.csv")
    assert (summary.created, summary.failed) == (2, 6)
    by_row = {e["row"]: e for e in summary.errors}
    assert "missing sku" in by_row[3]["reason"]
    assert by_row[4]["sku"] == "HL-X-1" and "bad price" in by_row[4]["reason"]
    assert "duplicate sku" in by_row[6]["reason"] and "row 5" in by_row[6]["reason"]
    assert "too long" in by_row[8]["reason"]
    assert "negative" in by_row[9]["reason"]
    assert 10 in by_row  # the undecodable line, reported with its number
    with tenant_scope(tenant_a):
        assert set(Product.objects.values_list("sku", flat=True)) == {"HL-TUR-100", "HL-PH-200"}
        assert Product.objects.get(sku="HL-PH-200").name == "Medidor de pH"


def test_an_unreadable_file_changes_nothing(tenant_a, catalog_index):
    run_import(tenant_a, csv_bytes(ROWS), "c.csv")
    with pytest.raises(CatalogFileError):
        run_import(tenant_a, b"not really a spreadsheet", "c.xlsx", full_sync=True)
    with pytest.raises(CatalogFileError, match="no sku"):
        run_import(tenant_a, b"code_x,title_x\n1,2\n", "c.csv", full_sync=True)
    with tenant_scope(tenant_a):
        assert Product.objects.filter(is_active=True).count() == 3


def test_drift_is_detected_and_rebuild_fixes_it(tenant_a, catalog_index):
    run_import(tenant_a, csv_bytes(ROWS), "c.csv")
    with tenant_scope(tenant_a):
        turbidity = Product.objects.get(sku="HL-TUR-100")
        ph = Product.objects.get(sku="HL-PH-200")
        Product.objects.filter(pk=turbidity.pk).update(content_hash="edited-behind-the-index")
        index_remove(tenant=tenant_a, product_ids=[ph.pk])
        report = index_drift(tenant=tenant_a)
        assert (report.stale, report.missing, report.orphaned) == (
            ["HL-TUR-100"],
            ["HL-PH-200"],
            [],
        )
        Product.objects.filter(sku="AQ-CON-300").update(is_active=False)
        assert index_drift(tenant=tenant_a).orphaned == ["AQ-CON-300"]
        assert index_rebuild(tenant=tenant_a) == 2
        assert index_drift(tenant=tenant_a).clean


def test_soft_delete_and_restore_follow_into_the_index(tenant_a, catalog_index):
    run_import(tenant_a, csv_bytes(ROWS), "c.csv")
    with tenant_scope(tenant_a):
        ph = Product.objects.get(sku="HL-PH-200")
        products_soft_delete(tenant=tenant_a, products=[ph])
        assert "HL-PH-200" not in {m["sku"] for m in indexed_entries(tenant=tenant_a).values()}
        assert index_drift(tenant=tenant_a).clean
        products_restore(tenant=tenant_a, products=[ph])
        assert "HL-PH-200" in {m["sku"] for m in indexed_entries(tenant=tenant_a).values()}
        assert index_drift(tenant=tenant_a).clean


@pytest.mark.parametrize(
    ("bad_line", "reason"),
    [
        ('"HL-X-1","Sonda","pH","Hidrolab","10","USD","","","extra"', "9 fields"),
        ('"HL-X-1","Sonda","pH","Hidrolab","10"', "5 fields"),
        ('"HL-X-1","Sonda 3/4,"pH","Hidrolab","10","USD","",""', "quot"),
    ],
    ids=["more-fields", "fewer-fields", "unterminated-quote"],
)
def test_rows_that_do_not_fit_the_header_are_errors_not_data(
    bad_line, reason, tenant_a, catalog_index
):
    good = csv_bytes(ROWS).decode().splitlines()
    data = "\n".join([good[0], good[1], bad_line, good[2], good[3]]) + "\n"
    summary = run_import(tenant_a, data.encode(), "c.csv")
    assert (summary.created, summary.failed) == (3, 1)
    assert summary.errors[0]["row"] == 3 and reason in summary.errors[0]["reason"]
    with tenant_scope(tenant_a):
        assert set(Product.objects.values_list("sku", flat=True)) == {
            "HL-TUR-100",
            "HL-PH-200",
            "AQ-CON-300",
        }
