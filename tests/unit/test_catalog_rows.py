"""Row validation, price parsing, column aliases and text folding: pure logic."""

from __future__ import annotations

from decimal import Decimal

import pytest

from catalog.services import RowError, column_map, parse_price, row_to_data
from catalog.text import fold, sku_key, tokens, words


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1250.5", "1250.50"),
        ("1.250,50", "1250.50"),
        ("1,250.50", "1250.50"),
        ("1.250", "1250.00"),
        ("99,9", "99.90"),
        ("$ 1 250", "1250.00"),
        ("99,90 €", "99.90"),
        ("0", "0.00"),
    ],
)
def test_prices_as_people_type_them(text, value):
    assert parse_price(text) == Decimal(value)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("abc", "bad price"),
        ("-5", "negative"),
        ("1.2.3,4,5", "bad price"),
        ("12.345", None),
        ("1,2345", "more than 2 decimals"),
        ("", "bad price"),
    ],
)
def test_bad_prices_are_refused_with_a_reason(text, reason):
    if reason is None:  # 12.345 reads as twelve thousand three hundred forty-five
        assert parse_price(text) == Decimal("12345.00")
        return
    with pytest.raises(RowError, match=reason):
        parse_price(text)


def test_column_aliases_in_spanish_and_english():
    header = ["código", "nombre", "precio", "descripción", "marca", "moneda", "unknown"]
    assert column_map(header) == {
        "código": "sku",
        "nombre": "name",
        "precio": "price",
        "descripción": "description_html",
        "marca": "brand",
        "moneda": "currency",
    }


COLUMNS = {
    "sku": "sku",
    "name": "name",
    "price": "price",
    "currency": "currency",
    "url": "url",
    "active": "is_active",
    "description": "description_html",
}


def test_a_valid_row():
    data = row_to_data(
        {
            "sku": " HL-1 ",
            "name": "Sonda",
            "price": "1.250,00",
            "currency": "usd",
            "url": "https://example.com/p/1",
            "active": "sí",
            "description": "<p>x</p>",
        },
        COLUMNS,
    )
    assert (data.sku, data.price, data.currency, data.is_active) == (
        "HL-1",
        Decimal("1250.00"),
        "USD",
        True,
    )


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({"name": "x"}, "missing sku"),
        ({"sku": "A"}, "missing name"),
        ({"sku": "A" * 129, "name": "x"}, "sku is too long"),
        ({"sku": "A", "name": "x", "description": "d" * 200_001}, "description_html is too long"),
        ({"sku": "A", "name": "x", "currency": "dollars"}, "bad currency"),
        ({"sku": "A", "name": "x", "url": "javascript:alert(1)"}, "bad url"),
        ({"sku": "A", "name": "x", "active": "maybe"}, "bad active flag"),
    ],
)
def test_bad_rows_say_why(values, reason):
    with pytest.raises(RowError, match=reason):
        row_to_data(values, COLUMNS)


def test_content_hash_changes_with_any_field():
    base = row_to_data({"sku": "A", "name": "x", "price": "1"}, COLUMNS)
    assert (
        base.content_hash()
        == row_to_data({"sku": "A", "name": "x", "price": "1.00"}, COLUMNS).content_hash()
    )
    assert (
        base.content_hash()
        != row_to_data({"sku": "A", "name": "x", "price": "2"}, COLUMNS).content_hash()
    )
    assert (
        base.content_hash()
        != row_to_data(
            {"sku": "A", "name": "x", "price": "1", "active": "no"}, COLUMNS
        ).content_hash()
    )


def test_folding_and_tokens():
    assert fold("Turbidímetro PORTÁTIL ñandú µS/cm") == "turbidimetro portatil nandu µs/cm"
    assert words("Necesito un medidor de pH para el laboratorio") == [
        "medidor",
        "ph",
        "laboratorio",
    ]
    typo, right = set(tokens("turbidimtro")), set(tokens("turbidímetro"))
    assert len(typo & right) >= 5  # shared trigrams carry a typo
    assert "mg/l" in words("0-20 mg/L")
    assert sku_key("hl tur-5200") == sku_key("HL-TUR-5200") == "hltur5200"
