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


# Rows that do not fit the header: reported on their row, never imported garbled ----------


def test_a_row_with_more_fields_than_the_header_is_an_error_row():
    data = b"sku,name,price\nA-1,Sonda,10\nB-2,Sonda, pH,20\nC-3,Celda,30\n"
    _, rows = rows_of(data, "c.csv")
    assert [(r.number, r.values.get("sku"), r.error is None) for r in rows] == [
        (2, "A-1", True),
        (3, "B-2", False),
        (4, "C-3", True),
    ]
    assert "4 fields where the header has 3" in rows[1].error
    assert "line 3" in rows[1].error


def test_blank_trailing_fields_are_not_extra_fields():
    _, rows = rows_of(b"sku,name,price\nA-1,Sonda,10,,\n", "c.csv")
    assert rows[0].error is None
    assert rows[0].values == {"sku": "A-1", "name": "Sonda", "price": "10"}


def test_a_row_with_fewer_fields_than_the_header_is_an_error_row():
    data = b"sku,name,price,currency\nA-1,Sonda,10,USD\nB-2,Sonda 20 USD\nC-3,Celda,30,USD\n"
    _, rows = rows_of(data, "c.csv")
    assert [(r.number, r.error is None) for r in rows] == [(2, True), (3, False), (4, True)]
    assert "2 fields where the header has 4" in rows[1].error
    assert rows[2].values == {"sku": "C-3", "name": "Celda", "price": "30", "currency": "USD"}


def test_an_unterminated_quote_is_an_error_row_and_the_lines_it_swallowed_are_read_again():
    data = b'sku,name,price\nA-1,Sonda,10\nB-2,"Sonda 3/4,20\nC-3,Celda,30\nD-4,Filtro,40\n'
    _, rows = rows_of(data, "c.csv")
    good = [(r.number, r.values) for r in rows if r.error is None]
    assert good[0] == (2, {"sku": "A-1", "name": "Sonda", "price": "10"})
    assert [values["sku"] for _, values in good] == ["A-1", "C-3", "D-4"]
    assert good[-1][1] == {"sku": "D-4", "name": "Filtro", "price": "40"}
    bad = [r for r in rows if r.error]
    assert [r.number for r in bad] == [3]
    assert "never closed" in bad[0].error and "line 3" in bad[0].error


def test_a_stray_quote_later_in_the_file_does_not_close_a_swallowing_field():
    # A quote left open on line 2 and closed by the inches of line 4: one row of 3 fields.
    data = b'sku,name,price\nA-1,"Sonda,10\nB-2,Filtro,20\nC-3,Tubo 3/4",30\nD-4,Tapa,40\n'
    _, rows = rows_of(data, "c.csv")
    assert rows[0].error and rows[0].number == 2 and "quot" in rows[0].error
    good = {r.values["sku"]: r.values["name"] for r in rows if r.error is None}
    # A quote inside an unquoted field is a character (inches), not a quote.
    assert good == {"B-2": "Filtro", "C-3": 'Tubo 3/4"', "D-4": "Tapa"}


def test_quoted_fields_may_hold_delimiters_newlines_and_doubled_quotes():
    data = b'sku,name,price\nA-1,"Sonda ""3/4"", pH\n<br>larga",10\nB-2,Celda,20\n'
    _, rows = rows_of(data, "c.csv")
    assert [r.error for r in rows] == [None, None]
    assert rows[0].values["name"] == 'Sonda "3/4", pH\n<br>larga'
    assert rows[1].number == 3
