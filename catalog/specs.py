"""Specs that mean numbers: quantities with units, parsed from products and from queries.

:func:`parse_quantities` reads ranges ("0 a 1000 NTU", "0-1.000 NTU", "-20…+120 °C",
"0 to 50 mg/L"), upper bounds ("hasta 200 mS/cm", "up to 16 bar") and single values
("resolución 0,01 pH", "1413 µS/cm"), with Spanish decimal commas and thousands
separators, and normalises each unit to its dimension's base unit (µS/cm, °C, mg/L,
bar, NTU, ...), so "2 mS/cm" and "2000 µS/cm" are the same value.

A quantity's role comes from the label before it on its line: a measuring range
("Rango: 0-1000 NTU"), a resolution ("Resolución: 0,01 pH"), or the conditions the
product works or is stored in ("Temperatura de trabajo: 0-50 °C"), which say nothing
about what it measures.

:class:`SpecTable` holds the quantities of every product of a catalog as arrays;
:meth:`SpecTable.scores` says, for a query's quantities, how well each product meets
them: 1 when its range covers the asked value or range (or its resolution is as fine as
asked), less when it covers it loosely, negative when it has a range of that kind that
does not cover it, 0 when it says nothing about it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from catalog.text import fold

# unit (folded) -> (dimension, factor to the base unit, offset added after the factor)
UNITS: dict[str, tuple[str, float, float]] = {
    "ntu": ("turbidity", 1.0, 0.0),
    "fnu": ("turbidity", 1.0, 0.0),
    "ftu": ("turbidity", 1.0, 0.0),
    "µs/cm": ("conductivity", 1.0, 0.0),
    "us/cm": ("conductivity", 1.0, 0.0),
    "ms/cm": ("conductivity", 1000.0, 0.0),
    "s/m": ("conductivity", 10_000.0, 0.0),
    "ms/m": ("conductivity", 10.0, 0.0),
    "mg/l": ("concentration", 1.0, 0.0),
    "ppm": ("concentration", 1.0, 0.0),
    "g/l": ("concentration", 1000.0, 0.0),
    "µg/l": ("concentration", 0.001, 0.0),
    "ug/l": ("concentration", 0.001, 0.0),
    "ppb": ("concentration", 0.001, 0.0),
    "°c": ("temperature", 1.0, 0.0),
    "oc": ("temperature", 1.0, 0.0),  # "ºC" (the ordinal sign) folds to "oc"
    "°f": ("temperature", 5 / 9, -160 / 9),
    "of": ("temperature", 5 / 9, -160 / 9),
    "k": ("temperature", 1.0, -273.15),
    "ph": ("ph", 1.0, 0.0),
    "mv": ("voltage", 1.0, 0.0),
    "v": ("voltage", 1000.0, 0.0),
    "ma": ("current", 1.0, 0.0),
    "bar": ("pressure", 1.0, 0.0),
    "mbar": ("pressure", 0.001, 0.0),
    "psi": ("pressure", 0.0689476, 0.0),
    "kpa": ("pressure", 0.01, 0.0),
    "mpa": ("pressure", 10.0, 0.0),
    "pa": ("pressure", 0.00001, 0.0),
    "mm": ("length", 1.0, 0.0),
    "cm": ("length", 10.0, 0.0),
    "m": ("length", 1000.0, 0.0),
    "ml": ("volume", 1.0, 0.0),
    "l": ("volume", 1000.0, 0.0),
    "l/min": ("flow", 60.0, 0.0),
    "l/h": ("flow", 1.0, 0.0),
    "m3/h": ("flow", 1000.0, 0.0),
    "m³/h": ("flow", 1000.0, 0.0),
    "%": ("percent", 1.0, 0.0),
    "nm": ("wavelength", 1.0, 0.0),
}
_UNIT = "|".join(re.escape(u) for u in sorted(UNITS, key=len, reverse=True))
_NUMBER = r"[-+\u2212]?\s?\d+(?:[.,]\d+)*"
_JOIN = r"\s*(?:-|\u2013|\u2014|…|\.\.\.?|a|to|hasta|~)\s*"
_END = r"(?![a-z0-9µ/])"
_RANGE = re.compile(
    rf"(?<![\w.,])({_NUMBER})\s?(?:({_UNIT}){_END})?{_JOIN}({_NUMBER})\s?({_UNIT}){_END}"
)
_UPTO = re.compile(rf"(?:hasta|up to|max\.?|maximo|maximum|<=?|≤)\s*({_NUMBER})\s?({_UNIT}){_END}")
_VALUE = re.compile(rf"(?<![\w.,])({_NUMBER})\s?({_UNIT}){_END}")
_RESOLUTION = re.compile(r"(resolucion|resolution|res\.)[\s:|]*$")
_CONDITIONS = re.compile(
    r"(trabajo|almacenamiento|operacion|operating|storage|ambiente|ambient|working|"
    r"funcionamiento|proceso maxima|process max)[^|:\n]*[\s:|]*$"
)
_MEASURE = re.compile(r"(rango|range|medicion|measuring|measurement|escala|scale)[^|:\n]*[\s:|]*$")

RANGE, VALUE, RESOLUTION = "range", "value", "resolution"


@dataclass(frozen=True)
class Quantity:
    dimension: str
    lo: float
    hi: float
    kind: str  # RANGE, VALUE (lo == hi) or RESOLUTION (lo == hi)
    role: str = ""  # "measure", "conditions" or "" (not said)


def parse_number(text: str) -> float | None:
    """A number as written in Spanish or English: "1.000" and "1,000" are a thousand,
    "0,01" and "2.5" decimals, "1.000,5" and "1,000.5" a thousand and a half."""
    text = text.replace(" ", "").replace("\u2212", "-").replace("+", "")
    sign = -1.0 if text.startswith("-") else 1.0
    text = text.lstrip("-")
    separators = [c for c in text if c in ".,"]
    if len(set(separators)) == 2:  # both: the last one is the decimal separator
        decimal = text[max(text.rfind("."), text.rfind(","))]
        text = text.replace("," if decimal == "." else ".", "").replace(decimal, ".")
    elif separators:
        sep = separators[0]
        groups = text.split(sep)
        thousands = len(groups) > 2 or (len(groups[1]) == 3 and groups[0] not in ("0", ""))
        text = text.replace(sep, "") if thousands else text.replace(sep, ".")
    try:
        return sign * float(text)
    except ValueError:
        return None


def _to_base(value: float, unit: str) -> tuple[str, float]:
    dimension, factor, offset = UNITS[unit]
    return dimension, value * factor + offset


def _role(before: str) -> str:
    if _CONDITIONS.search(before):
        return "conditions"
    if _MEASURE.search(before):
        return "measure"
    return ""


def parse_quantities(text: str) -> list[Quantity]:
    """Every quantity with a unit in ``text``, in base units, each stretch of text read once."""
    folded = fold(text)
    out: list[Quantity] = []
    taken: list[tuple[int, int]] = []

    def free(start: int, end: int) -> bool:
        return all(end <= a or start >= b for a, b in taken)

    def before(start: int) -> str:
        line_start = max(folded.rfind("\n", 0, start), folded.rfind(";", 0, start)) + 1
        return folded[max(line_start, start - 60) : start]

    for match in _RANGE.finditer(folded):
        lo_text, lo_unit, hi_text, unit = match.groups()
        lo, hi = parse_number(lo_text), parse_number(hi_text)
        if lo is None or hi is None or (lo_unit and UNITS[lo_unit][0] != UNITS[unit][0]):
            continue
        if unit == "k" and max(abs(lo), abs(hi)) < 100:  # "NTC 10K" is ohms, not kelvin
            continue
        dimension, lo_base = _to_base(lo, lo_unit or unit)
        _, hi_base = _to_base(hi, unit)
        if lo_base > hi_base:
            continue
        out.append(Quantity(dimension, lo_base, hi_base, RANGE, _role(before(match.start()))))
        taken.append(match.span())
    for match in _UPTO.finditer(folded):
        value = parse_number(match.group(1))
        if value is None or not free(*match.span()) or match.group(2) == "k":
            continue
        dimension, hi = _to_base(value, match.group(2))
        out.append(Quantity(dimension, min(0.0, hi), hi, RANGE, _role(before(match.start()))))
        taken.append(match.span())
    for match in _VALUE.finditer(folded):
        value = parse_number(match.group(1))
        if value is None or not free(*match.span()):
            continue
        if match.group(2) == "k" and abs(value) < 100:
            continue
        dimension, base = _to_base(value, match.group(2))
        context = before(match.start())
        kind = RESOLUTION if _RESOLUTION.search(context) else VALUE
        out.append(Quantity(dimension, base, base, kind, _role(context)))
        taken.append(match.span())
    return out


def _close(a: np.ndarray, b: float) -> np.ndarray:
    return np.abs(a - b) <= 1e-6 * np.maximum(1.0, np.abs(b))


@dataclass
class _Column:
    """One dimension's quantities of one kind, over the whole catalog."""

    products: np.ndarray  # position of the product each quantity belongs to
    lo: np.ndarray
    hi: np.ndarray
    conditions: np.ndarray  # bool: a working or storage condition, not a measuring range


class SpecTable:
    """The quantities of every product of a catalog, by dimension and kind."""

    def __init__(self, per_product: Sequence[Iterable[Quantity]]) -> None:
        self.size = len(per_product)
        rows: dict[tuple[str, str], list[tuple[int, float, float, bool]]] = {}
        for position, quantities in enumerate(per_product):
            for q in quantities:
                kind = RANGE if q.kind == VALUE else q.kind  # a value is a range of one point
                rows.setdefault((q.dimension, kind), []).append(
                    (position, q.lo, q.hi, q.role == "conditions")
                )
        self.columns = {
            key: _Column(
                products=np.array([r[0] for r in values], dtype=np.int64),
                lo=np.array([r[1] for r in values]),
                hi=np.array([r[2] for r in values]),
                conditions=np.array([r[3] for r in values], dtype=bool),
            )
            for key, values in rows.items()
        }

    def scores(self, quantities: Sequence[Quantity]) -> np.ndarray | None:
        """Per product, the mean over the query's quantities of how well it meets each
        (-1 to 1); None when the query has no quantity this catalog speaks of."""
        total = np.zeros(self.size)
        asked = 0
        for q in quantities:
            if q.kind == RESOLUTION:
                column = self.columns.get((q.dimension, RESOLUTION))
                if column is None:
                    continue
                fine_enough = column.hi <= q.hi * (1 + 1e-6)
                score = np.where(fine_enough, np.where(_close(column.hi, q.hi), 1.0, 0.9), -0.5)
            else:
                column = self.columns.get((q.dimension, RANGE))
                if column is None:
                    continue
                score = self._range_scores(column, q)
            best = np.full(self.size, -np.inf)
            np.maximum.at(best, column.products, score)
            total += np.where(np.isfinite(best), best, 0.0)
            asked += 1
        return total / asked if asked else None

    @staticmethod
    def _range_scores(column: _Column, q: Quantity) -> np.ndarray:
        tolerance = 1e-6 * max(1.0, abs(q.hi))
        covers = (column.lo <= q.lo + tolerance) & (column.hi >= q.hi - tolerance)
        if q.kind == VALUE:
            # An exact value (a standard of 1000 NTU) first, then every range that holds it,
            # the narrower the range for that value the higher (50 NTU: 0-100 before 0-4000),
            # so a catalog's order never decides between ranges that all hold it.
            exact = _close(column.lo, q.lo) & _close(column.hi, q.hi)
            scale = max(abs(q.hi), tolerance)
            tightness = scale / np.maximum(column.hi - column.lo, scale)
            score = np.where(exact, 1.0, np.where(covers, 0.76 + 0.04 * tightness, -0.5))
        else:
            span = max(q.hi - q.lo, tolerance)
            tightness = span / np.maximum(column.hi - column.lo, span)
            exact = _close(column.lo, q.lo) & _close(column.hi, q.hi)
            score = np.where(exact, 1.0, np.where(covers, 0.5 + 0.4 * tightness, -0.5))
        # Working or storage conditions never count against a product, and count half for it.
        return np.where(column.conditions, np.maximum(score, 0.0) * 0.5, score)
