"""Catalog readers without a database: every format, encoding and whole-file error."""

from __future__ import annotations

import io
import json

import openpyxl
import pytest

from catalog.readers import CatalogFileError, cell_text, decode_text, read_catalog


def rows_of(data: bytes, filename: str):
    header, rows = read_catalog(io.BytesIO(data), filename)
    return header, list(rows)


@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_csv_delimiters_are_sniffed(sep):
    data = f"SKU{sep}Name{sep}Price\nA-1{sep}Sonda, pH{sep}10\n".replace("Sonda, pH", "Sonda pH")
    header, rows = rows_of(data.encode(), "c.csv")
    assert header == ["SKU", "Name", "Price"]
    assert rows[0].values == {"SKU": "A-1", "Name": "Sonda pH", "Price": "10"}
    assert rows[0].number == 2


def test_csv_row_numbers_count_the_header_and_skip_blank_lines():
    _, rows = rows_of(b"sku,name\nA,uno\n\nB,dos\n", "c.csv")
    assert [(r.number, r.values["sku"]) for r in rows] == [(2, "A"), (4, "B")]


CP1252_TEXT = "Medición “exacta” \u2013 5 €"


@pytest.mark.parametrize(
    ("data", "text"),
    [
        ("sku,name\nA,Turbidímetro µS/cm\n".encode(), "Turbidímetro µS/cm"),
        (b"\xef\xbb\xbf" + "sku,name\nA,Turbidímetro\n".encode(), "Turbidímetro"),
        ("sku,name\nA,Turbidímetro 25 °C\n".encode("latin-1"), "Turbidímetro 25 °C"),
        ("sku,name\nA,Medición “exacta” \u2013 5 €\n".encode("cp1252"), CP1252_TEXT),
    ],
    ids=["utf8", "utf8-bom", "latin1", "cp1252"],
)
def test_encodings(data, text):
    header, rows = rows_of(data, "c.csv")
    assert header == ["sku", "name"]
    assert rows[0].values["name"] == text
    assert rows[0].error is None


def test_one_broken_line_in_a_utf8_file_is_an_error_row_and_the_rest_stays_utf8():
    data = "sku,name\nA,Válvula\n".encode() + b"B,roto \xff\xfe\n" + "C,Cámara\n".encode()
    _, rows = rows_of(data, "c.csv")
    assert [r.values["name"] for r in rows if r.error is None] == ["Válvula", "Cámara"]
    broken = next(r for r in rows if r.error)
    assert broken.number == 3
    assert "undecodable text in name" in broken.error


def test_decode_text_prefers_utf8():
    assert decode_text("ñ".encode()) == "ñ"
    assert decode_text("ñ".encode("latin-1")) == "ñ"


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"", "c.csv", "empty"),
        (b"\n\n", "c.csv", "empty"),
        ("sku,name".encode("utf-16"), "c.csv", "UTF-16"),
        (b"PK\x03\x04 not a zip", "c.xlsx", "not a valid .xlsx"),
        (b"sku,name\n", "c.xls", "save the sheet as .xlsx"),
        (b"{}", "c.pdf", "unsupported file type .pdf"),
        (b"{broken", "c.json", "invalid JSON"),
        (b'{"rows": []}', "c.json", "JSON must be a list"),
        (b'"text"', "c.json", "JSON must be a list"),
    ],
)
def test_unreadable_files_raise_with_the_reason(data, filename, message):
    with pytest.raises(CatalogFileError, match=message):
        rows_of(data, filename)


def xlsx(sheets: dict[str, list[list]]) -> bytes:
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_xlsx_reads_the_products_sheet_and_numbers_without_float_noise():
    data = xlsx(
        {
            "Notas": [["nada que ver"]],
            "Productos": [
                [None],
                ["sku", "name", "price", "stock"],
                ["A-1", "Sonda", 1250.5, 3.0],
                [None, None, None, None],
                [101, "Celda", 0.1 + 0.2, 7],
            ],
        }
    )
    header, rows = rows_of(data, "c.xlsx")
    assert header == ["sku", "name", "price", "stock"]
    assert [r.number for r in rows] == [3, 5]
    assert rows[0].values == {"sku": "A-1", "name": "Sonda", "price": "1250.5", "stock": "3"}
    assert rows[1].values["sku"] == "101"


def test_xlsx_first_sheet_when_no_sheet_is_named_products():
    header, rows = rows_of(xlsx({"Hoja1": [["sku"], ["Z-9"]]}), "c.xlsx")
    assert (header, rows[0].values) == (["sku"], {"sku": "Z-9"})


def test_empty_xlsx_sheet_is_a_file_error():
    with pytest.raises(CatalogFileError, match="empty"):
        rows_of(xlsx({"Productos": []}), "c.xlsx")


def test_json_list_or_products_object_and_bad_items_are_row_errors():
    items = [{"sku": "A", "price": 10}, "not an object", {"sku": "B", "specs": {"x": 1}}]
    for payload in (items, {"products": items}, {"productos": items}):
        header, rows = rows_of(json.dumps(payload).encode(), "c.json")
        assert header == ["sku", "price", "specs"]
        assert rows[0] == rows[0].__class__(1, {"sku": "A", "price": "10"})
        assert "not a product object" in rows[1].error
        assert rows[2].number == 3 and "specs: expected text" in rows[2].error


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, None), (True, "yes"), (3.0, "3"), (2.5, "2.5"), (7, "7"), ("x", "x")],
)
def test_cell_text(value, text):
    assert cell_text(value) == text
