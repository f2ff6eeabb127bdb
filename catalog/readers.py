"""Catalog files as rows of text: CSV (UTF-8 with or without BOM, or Latin-1), XLSX, JSON.

:func:`read_catalog` returns the header and a lazy sequence of :class:`RawRow`.
A problem with the whole file (unknown type, not a real XLSX, invalid JSON, no
header) raises :class:`CatalogFileError`; a problem with one row (text that is
not valid in the file's encoding, a JSON item that is not an object, a CSV row
with more or fewer fields than the header, or one whose quote is never closed)
is carried on that row so the import reports it, imports nothing of it, and goes
on with the others.

Row numbers are what the person who made the file sees: in CSV and XLSX the
header is row 1 and the first product row 2; in JSON the first item is row 1.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import IO, Any

# A field may be as long as the longest one the import accepts and then some, so an
# oversized field is reported as "too long" on its row instead of breaking the file.
csv.field_size_limit(8 * 1024 * 1024)

DELIMITERS = ",;\t|"
UNDECODABLE = "\ufffd"
XLSX_SHEET_NAMES = ("productos", "products", "catalogo", "catalog")


class CatalogFileError(ValueError):
    """The file as a whole cannot be read; nothing was imported."""


@dataclass(frozen=True)
class RawRow:
    number: int
    values: dict[str, str | None]
    error: str | None = None


def read_catalog(fileobj: IO[bytes], filename: str) -> tuple[list[str], Iterator[RawRow]]:
    suffix = Path(filename).suffix.lower()
    if suffix in (".csv", ".txt", ".tsv"):
        return _read_csv(fileobj.read())
    if suffix == ".xlsx":
        return _read_xlsx(fileobj)
    if suffix == ".json":
        return _read_json(fileobj.read())
    if suffix == ".xls":
        raise CatalogFileError(
            "old Excel (.xls) files are not supported: save the sheet as .xlsx or .csv"
        )
    raise CatalogFileError(
        f"unsupported file type {suffix or '(no extension)'}: use .csv, .xlsx or .json"
    )


# CSV ----------------------------------------------------------------------------------


def decode_text(data: bytes) -> str:
    """UTF-8 (BOM or not) when the file is UTF-8, else Latin-1 (Windows-1252).

    A file that is UTF-8 except for a few broken lines stays UTF-8: the broken bytes
    become U+FFFD and the rows that hold them are reported, not silently misread.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if _has_utf8_multibyte(data):
        return data.decode("utf-8", errors="replace")
    return data.decode("cp1252", errors="strict") if _is_cp1252(data) else data.decode("latin-1")


def _has_utf8_multibyte(data: bytes) -> bool:
    """Whether some line holds non-ASCII text that is valid UTF-8 (so the file is UTF-8)."""
    for line in data.splitlines():
        if max(line, default=0) < 0x80:
            continue
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            continue
        return True
    return False


def _is_cp1252(data: bytes) -> bool:
    try:
        data.decode("cp1252")
    except UnicodeDecodeError:
        return False
    return True


def _delimiter(header_line: str) -> str:
    try:
        return csv.Sniffer().sniff(header_line, delimiters=DELIMITERS).delimiter
    except csv.Error:
        counts = {d: header_line.count(d) for d in DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","


def _read_csv(data: bytes) -> tuple[list[str], Iterator[RawRow]]:
    if b"\x00" in data[:4096]:
        raise CatalogFileError(
            "this is not a text CSV file (it holds binary data; UTF-16 files are not "
            "supported: save as CSV UTF-8)"
        )
    text = decode_text(data)
    if not text.strip():
        raise CatalogFileError("the file is empty")
    header_line = text.lstrip("\r\n").split("\n", 1)[0]
    delimiter = _delimiter(header_line)
    # The physical lines as the csv module sees them, so that parsing can start again on the
    # line after a row whose quote was never closed.
    lines = io.StringIO(text, newline="").readlines()
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    try:
        header = next(row for row in reader if any(cell.strip() for cell in row))
    except StopIteration as exc:
        raise CatalogFileError("the file has no header row") from exc
    except csv.Error as exc:
        raise CatalogFileError(f"the header row cannot be read: {exc}") from exc
    header = [cell.strip() for cell in header]
    if UNDECODABLE in "".join(header):
        raise CatalogFileError("the header row is not valid text: save the file as CSV UTF-8")
    return header, _csv_rows(lines, reader.line_num, header, delimiter)


def _csv_rows(lines: list[str], start: int, header: list[str], delimiter: str) -> Iterator[RawRow]:
    """The rows after the header, which ends on line ``start`` (1-based).

    A row must have as many fields as the header (extra fields that are all blank, as a
    trailing delimiter leaves, are tolerated). A row whose quote is not closed where CSV
    wants it (an unterminated quote would otherwise swallow the following lines, up to the
    end of the file or the next stray quote) is reported, and reading resumes on the line
    after the one the row started on, so the rows it swallowed are read on their own.
    """
    number = 1
    while start < len(lines):
        reader = csv.reader(islice(lines, start, None), delimiter=delimiter, strict=True)
        while True:
            first = start + reader.line_num + 1  # the line this row starts on (1-based)
            number += 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield RawRow(number, {}, _quote_error(exc, first, start + reader.line_num))
                start = first  # read again from the line after the row's first line
                break
            if not any(cell.strip() for cell in row):
                continue
            last = start + reader.line_num
            if _swallowed_rows(lines[first : last - 1], len(header), delimiter):
                yield RawRow(number, {}, _quote_error(None, first, last))
                start = first
                break
            yield _csv_row(number, header, row, first, last)


def _swallowed_rows(inner_lines: list[str], fields: int, delimiter: str) -> bool:
    """Whether a row spread over several lines holds whole lines that read as rows of their
    own: a quote left open and closed by a stray quote further down. A description written
    over several lines rarely has as many delimiters on one line as a row."""
    return fields >= 3 and any(line.count(delimiter) >= fields - 1 for line in inner_lines)


def _quote_error(exc: csv.Error | None, first: int, last: int) -> str:
    if exc is None:
        return (
            f"a quote opened on line {first} is closed only on line {last}, swallowing the "
            "lines between, which read as rows of their own; the row was not imported, the "
            "lines after it were read on their own"
        )
    if "unexpected end of data" in str(exc):
        return (
            f"a quote opened on line {first} is never closed: it would swallow the rest of "
            f"the file (lines {first}-{last}); the row was not imported, the lines after it were "
            "read on their own"
        )
    return (
        f"malformed quoting on line {first}{f'-{last}' if last > first else ''} ({exc}): "
        'a quote inside a field must be doubled (""); the row was not imported'
    )


def _csv_row(number: int, header: list[str], row: list[str], first: int, last: int) -> RawRow:
    extra = row[len(header) :]
    if len(row) < len(header) or any(cell.strip() for cell in extra):
        lines = f"lines {first}-{last}" if last > first else f"line {first}"
        return RawRow(
            number,
            dict(zip(header, row, strict=False)),  # for the report's SKU; never imported
            f"{len(row)} fields where the header has {len(header)} ({lines}): a missing or "
            "extra delimiter, or a quote that is not closed; the row was not imported",
        )
    values: dict[str, str | None] = dict(zip(header, row, strict=False))
    bad = [column for column, value in values.items() if value and UNDECODABLE in value]
    if bad:
        return RawRow(
            number,
            values,
            f"undecodable text in {', '.join(bad)} (not valid UTF-8): save the file as CSV UTF-8",
        )
    return RawRow(number, values)


# XLSX ---------------------------------------------------------------------------------


def cell_text(value: Any) -> str | None:
    """A spreadsheet or JSON value as the text a person would have typed."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _read_xlsx(fileobj: IO[bytes]) -> tuple[list[str], Iterator[RawRow]]:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = openpyxl.load_workbook(fileobj, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise CatalogFileError(f"this is not a valid .xlsx file ({exc})") from exc
    names = {name.strip().casefold(): name for name in workbook.sheetnames}
    chosen = next((names[n] for n in XLSX_SHEET_NAMES if n in names), workbook.sheetnames[0])
    rows = workbook[chosen].iter_rows(values_only=True)
    number = 0
    for row in rows:
        number += 1
        if any((cell_text(v) or "").strip() for v in row):
            header = [(cell_text(v) or "").strip() for v in row]
            break
    else:
        workbook.close()
        raise CatalogFileError(f"the sheet {chosen!r} is empty")
    return header, _xlsx_rows(workbook, rows, header, number)


def _xlsx_rows(workbook: Any, rows: Iterator[tuple], header: list[str], number: int):
    try:
        for row in rows:
            number += 1
            values = {
                column: cell_text(value)
                for column, value in zip(header, row, strict=False)
                if column
            }
            if any(v and v.strip() for v in values.values()):
                yield RawRow(number, values)
    finally:
        workbook.close()


# JSON ---------------------------------------------------------------------------------


def _read_json(data: bytes) -> tuple[list[str], Iterator[RawRow]]:
    try:
        payload = json.loads(decode_text(data))
    except json.JSONDecodeError as exc:
        raise CatalogFileError(f"invalid JSON: {exc}") from exc
    if isinstance(payload, dict):
        payload = next(
            (payload[k] for k in ("products", "productos", "items") if k in payload), None
        )
    if not isinstance(payload, list):
        raise CatalogFileError('JSON must be a list of products or {"products": [...]}')
    header: list[str] = []
    for item in payload:
        if isinstance(item, dict):
            header.extend(str(k) for k in item if str(k) not in header)
    return header, _json_rows(payload)


def _json_rows(items: list[Any]) -> Iterator[RawRow]:
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            yield RawRow(number, {}, f"not a product object: {type(item).__name__}")
            continue
        nested = [str(k) for k, v in item.items() if isinstance(v, dict | list)]
        if nested:
            yield RawRow(
                number,
                {str(k): cell_text(v) for k, v in item.items() if str(k) not in nested},
                f"{', '.join(nested)}: expected text or a number, got a list or object",
            )
            continue
        yield RawRow(number, {str(k): cell_text(v) for k, v in item.items()})
