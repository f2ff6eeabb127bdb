"""CSV downloads, for every app's admin pages: UTF-8 with a BOM (Excel reads it right),
formula-injection safe (a cell a spreadsheet would run as a formula gets a leading quote),
and in the reader's spreadsheet convention: Spanish and Portuguese spreadsheets expect
``;`` between cells and a decimal comma, English ones ``,`` and a decimal point.

The convention follows the request's language (:func:`csv_format_for`): the active
language the locale middleware chose (the member's own, else their tenant's default),
else the tenant's default language.

It lives here, at the bottom of the layers, so the catalog (an upload's ``errors.csv``,
the sample catalog) and the desk (the opportunities' export) write CSV the same way.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse

# A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# Languages whose spreadsheets separate cells with ";" and decimals with ",".
DECIMAL_COMMA_LANGUAGES = ("es", "pt", "fr", "de", "it")


@dataclass(frozen=True)
class CsvFormat:
    delimiter: str = ","
    decimal_separator: str = "."

    def number(self, value: Decimal | float | int) -> str:
        """A number as this convention's spreadsheets read it: no grouping, its decimal
        separator (``3450.5`` → ``3450,50`` with a decimal comma)."""
        text = f"{value:.2f}" if isinstance(value, Decimal | float) else str(value)
        return text.replace(".", self.decimal_separator)


COMMA = CsvFormat(",", ".")
SEMICOLON = CsvFormat(";", ",")


def csv_format_for_language(language: str | None) -> CsvFormat:
    """``;`` and a decimal comma for Spanish, Portuguese and the like; else ``,``."""
    base = (language or "").lower().replace("_", "-").split("-", 1)[0]
    return SEMICOLON if base in DECIMAL_COMMA_LANGUAGES else COMMA


def csv_format_for(request: HttpRequest) -> CsvFormat:
    """The request's convention: its active language (set by the locale middleware from the
    member's, else the tenant's, language), else its tenant's default language."""
    language = getattr(request, "LANGUAGE_CODE", None)
    if not language:
        tenant = getattr(request, "tenant", None)
        language = getattr(tenant, "default_language", None) or settings.LANGUAGE_CODE
    return csv_format_for_language(language)


def csv_safe(value: Any) -> str:
    """The cell as text, with a leading quote when a spreadsheet would read it as a formula."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_PREFIXES) else text


def csv_cell(value: Any, csv_format: CsvFormat = COMMA) -> str:
    """A number in the convention's notation (ours, never a formula); anything else
    :func:`csv_safe`."""
    if isinstance(value, Decimal | float | int) and not isinstance(value, bool):
        return csv_format.number(value)
    return csv_safe(value)


def csv_text(
    *,
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    csv_format: CsvFormat = COMMA,
    out: Any,
) -> None:
    """Write the header and the rows to ``out`` (a file-like object), every cell
    :func:`csv_cell`."""
    writer = csv.writer(out, delimiter=csv_format.delimiter)
    writer.writerow([csv_safe(cell) for cell in header])
    for row in rows:
        writer.writerow([csv_cell(cell, csv_format) for cell in row])


def csv_response(
    *,
    filename: str,
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    csv_format: CsvFormat = COMMA,
) -> HttpResponse:
    """An attachment ``filename``: the header, then the rows, every cell :func:`csv_cell`,
    separated by ``csv_format``'s delimiter (pass :func:`csv_format_for` of the request)."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.write("\ufeff")
    csv_text(header=header, rows=rows, csv_format=csv_format, out=response)
    return response
