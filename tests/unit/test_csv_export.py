"""tenants.csv_export: the spreadsheet convention by language, numbers in its notation (never
quoted as formulas), text formula-safe, and the request's language before the tenant's."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from types import SimpleNamespace

import pytest

from tenants.csv_export import (
    COMMA,
    SEMICOLON,
    csv_cell,
    csv_format_for,
    csv_format_for_language,
    csv_text,
)


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("es", SEMICOLON),
        ("es-ar", SEMICOLON),
        ("pt_BR", SEMICOLON),
        ("en", COMMA),
        ("en-us", COMMA),
        ("", COMMA),
        (None, COMMA),
    ],
)
def test_the_convention_follows_the_language(language, expected):
    assert csv_format_for_language(language) == expected


def test_the_requests_language_comes_before_the_tenants():
    tenant = SimpleNamespace(default_language="es")
    assert csv_format_for(SimpleNamespace(LANGUAGE_CODE="en", tenant=tenant)) == COMMA
    assert csv_format_for(SimpleNamespace(tenant=tenant)) == SEMICOLON
    assert csv_format_for(SimpleNamespace(LANGUAGE_CODE="", tenant=tenant)) == SEMICOLON


@pytest.mark.parametrize(
    ("value", "comma", "semicolon"),
    [
        (Decimal("3450"), "3450.00", "3450,00"),
        (Decimal("1234567.5"), "1234567.50", "1234567,50"),
        (Decimal("-12.5"), "-12.50", "-12,50"),  # a number, not a formula
        (7, "7", "7"),
        (True, "True", "True"),
        (None, "", ""),
        ("=SUM(A1)", "'=SUM(A1)", "'=SUM(A1)"),
        ("-2+3", "'-2+3", "'-2+3"),
        ("1,5", "1,5", "1,5"),
    ],
)
def test_cells(value, comma, semicolon):
    assert csv_cell(value, COMMA) == comma
    assert csv_cell(value, SEMICOLON) == semicolon


def test_a_cell_holding_the_delimiter_is_quoted():
    out = io.StringIO()
    csv_text(header=["a", "b"], rows=[["x;y", Decimal("1.5")]], csv_format=SEMICOLON, out=out)
    assert out.getvalue().splitlines() == ["a;b", '"x;y";1,50']
    assert list(csv.reader(io.StringIO(out.getvalue()), delimiter=";"))[1] == ["x;y", "1,50"]
