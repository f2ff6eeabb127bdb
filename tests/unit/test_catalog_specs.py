"""Specs that mean numbers: quantities, units and ranges read from products and queries."""

from __future__ import annotations

import pytest

from catalog.specs import RANGE, RESOLUTION, VALUE, Quantity, SpecTable, parse_number
from catalog.specs import parse_quantities as parse


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1.000", 1000.0),
        ("1,000", 1000.0),
        ("0,01", 0.01),
        ("2,5", 2.5),
        ("2.5", 2.5),
        ("1.000,5", 1000.5),
        ("1,000.5", 1000.5),
        ("10.000.000", 10_000_000.0),
        ("-20", -20.0),
        ("0,001", 0.001),
    ],
)
def test_numbers_in_spanish_and_english(text, value):
    assert parse_number(text) == pytest.approx(value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Rango: 0 a 1000 NTU", ("turbidity", 0, 1000, RANGE)),
        ("0-1.000 NTU", ("turbidity", 0, 1000, RANGE)),
        ("0…4.000 FNU", ("turbidity", 0, 4000, RANGE)),
        ("0 to 50 mg/L", ("concentration", 0, 50, RANGE)),
        ("-20 a 120 °C", ("temperature", -20, 120, RANGE)),
        ("hasta 200 mS/cm", ("conductivity", 0, 200_000, RANGE)),
        ("up to 16 bar", ("pressure", 0, 16, RANGE)),
        ("resolución 0,01 pH", ("ph", 0.01, 0.01, RESOLUTION)),
        ("Resolution: 0.1 µS/cm", ("conductivity", 0.1, 0.1, RESOLUTION)),
        ("Valor: 1413 µS/cm", ("conductivity", 1413, 1413, VALUE)),
    ],
)
def test_quantities_are_read_in_base_units(text, expected):
    (quantity,) = parse(text)
    assert (quantity.dimension, quantity.lo, quantity.hi, quantity.kind) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("2 mS/cm", "2000 µS/cm"),
        ("2 mS/cm", "2000 uS/cm"),
        ("25 °C", "298,15 K"),
        ("5 mg/L", "5 ppm"),
        ("0,5 ppm", "500 ppb"),
        ("1 bar", "100 kPa"),
        ("77 °F", "25 °C"),
    ],
)
def test_units_of_one_dimension_compare(one, other):
    (a,), (b,) = parse(one), parse(other)
    assert a.dimension == b.dimension
    assert a.lo == pytest.approx(b.lo)


def test_the_role_of_a_quantity_comes_from_its_label():
    quantities = parse("Rango: 0-14 pH\nResolución: 0,01 pH\nTemperatura de trabajo: 0-50 °C")
    assert [(q.dimension, q.kind, q.role) for q in quantities] == [
        ("ph", RANGE, "measure"),
        ("temperature", RANGE, "conditions"),
        ("ph", RESOLUTION, ""),
    ]


def test_ohms_are_not_kelvin():
    assert parse("Termistor NTC 10K") == []


def test_a_range_that_covers_the_value_scores_above_one_that_does_not():
    table = SpecTable(
        [
            parse("Rango: 0-100 NTU"),
            parse("Rango: 0-1.000 NTU"),
            parse("Rango: 0 a 4000 NTU"),
            parse("Sin especificaciones"),
        ]
    )
    scores = table.scores(parse("turbidímetro 0 a 1000 NTU"))
    assert scores[1] == 1.0  # the same range
    assert scores[1] > scores[2] > scores[3] > scores[0]  # wider, unknown, too short
    hasta = table.scores(parse("hasta 2.000 NTU"))
    assert hasta[2] > 0 > hasta[1] and hasta[3] == 0
    value = table.scores([Quantity("turbidity", 500, 500, VALUE)])
    assert value[0] < 0 < value[1]


def test_of_the_ranges_that_hold_a_value_the_narrowest_scores_highest():
    """Not the catalog's order: the import writes products longest text first."""
    ranges = ["Rango: 0 a 4.000 NTU", "Rango: 0-1.000 NTU", "Rango: 0-100 NTU"]
    table = SpecTable([parse(text) for text in ranges])
    scores = table.scores([Quantity("turbidity", 50, 50, VALUE)])
    assert scores[2] > scores[1] > scores[0] > 0
    assert scores[2] < 1.0  # an exact value still scores above every range that holds it
    exact = SpecTable([parse("Patrón: 50 NTU"), parse("Rango: 0-100 NTU")])
    assert exact.scores([Quantity("turbidity", 50, 50, VALUE)])[0] > scores[2]


def test_a_resolution_as_fine_as_asked_scores_above_a_coarser_one():
    table = SpecTable([parse("Resolución: 0,1 µS/cm"), parse("Resolución: 0,01 µS/cm")])
    scores = table.scores(parse("conductímetro con resolución 0,01 µS/cm"))
    assert scores[1] > 0 > scores[0]
    in_ms = table.scores(parse("resolución 0,0001 mS/cm"))  # the same 0.1 µS/cm
    assert in_ms[0] == 1.0 and in_ms[1] > 0


def test_working_conditions_never_count_against_a_product():
    table = SpecTable([parse("Temperatura de trabajo: 0-50 °C"), parse("Rango: -50 a 200 °C")])
    scores = table.scores(parse("sensor de temperatura 150 °C"))
    assert scores[0] == 0 and scores[1] > 0


def test_a_query_without_quantities_the_catalog_knows_scores_nothing():
    table = SpecTable([parse("Rango: 0-100 NTU")])
    assert table.scores(parse("turbidímetro portátil")) is None
    assert table.scores(parse("16 bar")) is None
