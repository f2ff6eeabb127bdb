"""A catalog file checked before it is imported: what the upload page shows between
"Upload" and "Import".

:func:`catalog_preview` reads the whole file as the import would (``catalog.readers`` and
``catalog.services.rows_parse``: the same columns, the same row errors) and writes
nothing: the first rows as they would be imported, every row's error by its row number,
and the counts (rows, ready, failed, new, already in the catalog, and what a full sync
would deactivate).

Between the two steps the file waits in storage under ``catalog_previews/<tenant id>/``
with a random token (:func:`preview_stash`); the admin keeps the token in the member's
session, so only the member who uploaded it, in their tenant, can import or discard it.
Previews left behind are swept after a day.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

from django.core.files.base import File
from django.core.files.storage import default_storage
from django.utils import timezone

from catalog.models import Product
from catalog.readers import CatalogFileError, RawRow, read_catalog
from catalog.services import ImportSummary, ProductData, columns_required, rows_parse
from tenants.models import Tenant

logger = logging.getLogger(__name__)

PREVIEW_ROWS = 10
PREVIEW_FIELDS = ("sku", "name", "category", "brand", "price", "currency")
PREVIEW_ERRORS = 100
PREVIEW_DIR = "catalog_previews"
PREVIEW_MAX_AGE = timedelta(days=1)


@dataclass(frozen=True)
class PreviewRow:
    number: int
    values: dict[str, Any]  # our field -> the value as it would be imported (or as read)
    error: str = ""
    state: str = ""  # "new", "update", "repeat" (an exact repeat, skipped) or "error"

    @property
    def cells(self) -> list[Any]:
        """The values the preview's table shows, by :data:`PREVIEW_FIELDS`."""
        return [self.values.get(name) for name in PREVIEW_FIELDS]


@dataclass
class UploadPreview:
    filename: str
    file_error: str = ""
    header: list[str] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)  # file column -> our field
    rows: list[PreviewRow] = field(default_factory=list)  # the first PREVIEW_ROWS
    errors: list[dict[str, Any]] = field(default_factory=list)  # every failed row (capped)
    total: int = 0
    ready: int = 0
    failed: int = 0
    new: int = 0
    existing: int = 0
    deactivated: int = 0  # what a full sync would deactivate

    @property
    def ignored_columns(self) -> list[str]:
        return [c for c in self.header if c and c not in self.columns]

    @property
    def later_errors(self) -> list[dict[str, Any]]:
        """The errors of rows after the ones the table shows."""
        shown = {row.number for row in self.rows}
        return [e for e in self.errors if e["row"] not in shown][:PREVIEW_ERRORS]

    @property
    def is_importable(self) -> bool:
        return not self.file_error and self.ready > 0


def _first(rows: Iterator[RawRow], kept: list[RawRow], limit: int) -> Iterator[RawRow]:
    for raw in rows:
        if len(kept) < limit:
            kept.append(raw)
        yield raw


def catalog_preview(
    *, tenant: Tenant, fileobj: IO[bytes], filename: str, full_sync: bool = False
) -> UploadPreview:
    """The file as the import would take it, without importing anything (see the module)."""
    preview = UploadPreview(filename=filename)
    try:
        header, rows = read_catalog(fileobj, filename)
        preview.header = header
        columns = columns_required(header)
    except CatalogFileError as exc:
        preview.file_error = str(exc)
        return preview
    preview.columns = columns
    sku_column = next(column for column, name in columns.items() if name == "sku")
    kept: list[RawRow] = []
    summary = ImportSummary()
    valid, seen_keys = rows_parse(_first(rows, kept, PREVIEW_ROWS), columns, summary)
    catalog = {
        sku.casefold(): is_active
        for sku, is_active in Product.all_objects.filter(tenant=tenant, is_deleted=False)
        .values_list("sku", "is_active")
        .iterator()
    }
    data_by_row: dict[int, ProductData] = {number: data for number, data, _ in valid}
    errors_by_row = {e["row"]: e["reason"] for e in summary.errors}
    preview.errors = summary.errors
    preview.total, preview.failed, preview.ready = summary.total, summary.failed, len(valid)
    preview.existing = sum(1 for _, data, _ in valid if data.sku.casefold() in catalog)
    preview.new = preview.ready - preview.existing
    if full_sync:
        preview.deactivated = sum(
            1 for key, active in catalog.items() if active and key not in seen_keys
        )
    for raw in kept:
        data = data_by_row.get(raw.number)
        if raw.number in errors_by_row:
            values = {name: raw.values.get(column) for column, name in columns.items()}
            row = PreviewRow(raw.number, values, errors_by_row[raw.number], "error")
        elif data is None:  # the same row again: skipped
            values = {"sku": (raw.values.get(sku_column) or "").strip()}
            row = PreviewRow(raw.number, values, "", "repeat")
        else:
            state = "update" if data.sku.casefold() in catalog else "new"
            row = PreviewRow(raw.number, vars(data).copy(), "", state)
        preview.rows.append(row)
    return preview


# The file between the two steps ---------------------------------------------------


def _tenant_dir(tenant: Tenant) -> str:
    return f"{PREVIEW_DIR}/{tenant.pk}"


def preview_stash(*, tenant: Tenant, upload: File) -> tuple[str, str]:
    """Keep an uploaded file until it is imported or discarded: ``(token, stored path)``."""
    previews_sweep(tenant=tenant)
    token = secrets.token_urlsafe(16)
    name = Path(upload.name or "catalog").name
    path = default_storage.save(f"{_tenant_dir(tenant)}/{token}/{name}", upload)
    return token, path


def preview_path_is_tenants(*, tenant: Tenant, path: str) -> bool:
    """Whether a stored path is one of this tenant's previews (never another tenant's)."""
    return path.startswith(f"{_tenant_dir(tenant)}/") and ".." not in Path(path).parts


def preview_open(*, tenant: Tenant, path: str) -> IO[bytes]:
    if not preview_path_is_tenants(tenant=tenant, path=path):
        raise FileNotFoundError(path)
    return default_storage.open(path, "rb")


def preview_discard(*, tenant: Tenant, path: str) -> None:
    if preview_path_is_tenants(tenant=tenant, path=path) and default_storage.exists(path):
        default_storage.delete(path)


def previews_sweep(*, tenant: Tenant, older_than: timedelta = PREVIEW_MAX_AGE) -> int:
    """Delete this tenant's previews nobody imported or cancelled within ``older_than``."""
    cutoff = timezone.now() - older_than
    removed = 0
    root = _tenant_dir(tenant)
    try:
        if not default_storage.exists(root):
            return 0
        tokens, _files = default_storage.listdir(root)
        for token in tokens:
            _dirs, names = default_storage.listdir(f"{root}/{token}")
            for name in names:
                path = f"{root}/{token}/{name}"
                if default_storage.get_modified_time(path) < cutoff:
                    default_storage.delete(path)
                    removed += 1
    except (NotImplementedError, OSError):  # a storage that cannot list: nothing to sweep
        logger.info("catalog previews of tenant %s not swept", tenant.pk, exc_info=True)
    return removed
