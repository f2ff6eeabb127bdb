"""Writes on the catalog: imports, product changes, and keeping the index in step.

The caller holds the tenant's scope and passes the tenant.
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import os
import re
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone

from catalog import index
from catalog.cleaning import clean_fields
from catalog.columns import ALIASES, REQUIRED
from catalog.models import CatalogUpload, Product
from catalog.readers import CatalogFileError, RawRow, read_catalog
from catalog.text import fold
from tenants.models import Tenant
from tenants.scoping import scopes_disabled

logger = logging.getLogger(__name__)

BATCH = 512  # rows per batch: 8 of the model's batches (catalog.index.EMBED_BATCH)
CLEAN_IN_PROCESSES_FROM = 2000  # rows; fewer are cleaned here (a process starts in ~0.3 s)
CLEAN_PROCESSES = 2
CLEAN_CHUNK = 250
MAX_STORED_ERRORS = 5000
MAX_LENGTH = {
    "sku": 128,
    "name": 300,
    "category": 200,
    "brand": 200,
    "url": 500,
    "description_html": 200_000,
    "specs_html": 200_000,
}
TRUE = {"1", "true", "yes", "si", "sí", "y", "x", "active", "activo"}
FALSE = {"0", "false", "no", "n", "inactive", "inactivo"}
_url = URLValidator(schemes=["http", "https"])
_money = re.compile(r"[^\d,.\-]")


class RowError(ValueError):
    pass


@dataclass
class ProductData:
    sku: str
    name: str
    category: str = ""
    brand: str = ""
    price: Decimal | None = None
    currency: str = ""
    description_html: str = ""
    specs_html: str = ""
    url: str = ""
    is_active: bool = True

    def content_hash(self) -> str:
        payload = asdict(self)
        payload["price"] = str(self.price) if self.price is not None else None
        raw = json.dumps(payload, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(raw.encode()).hexdigest()


@dataclass
class ImportSummary:
    total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deactivated: int = 0
    failed: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def add_error(self, row: int, sku: str, reason: str) -> None:
        self.failed += 1
        if len(self.errors) < MAX_STORED_ERRORS:
            self.errors.append({"row": row, "sku": sku, "reason": reason})

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_price(text: str) -> Decimal:
    """Prices as people type them: 1250.5, 1.250,50, 1,250.50, $ 1 250, 99,9 €."""
    cleaned = _money.sub("", text)
    if not cleaned or cleaned.count("-") > 1 or cleaned.lstrip("-") == "":
        raise RowError(f"bad price {text!r}")
    if "," in cleaned and "." in cleaned:
        decimal_sep = "," if cleaned.rfind(",") > cleaned.rfind(".") else "."
        thousands = "." if decimal_sep == "," else ","
        cleaned = cleaned.replace(thousands, "").replace(decimal_sep, ".")
    elif "," in cleaned or "." in cleaned:
        sep = "," if "," in cleaned else "."
        if re.fullmatch(rf"-?\d{{1,3}}(\{sep}\d{{3}})+", cleaned):
            cleaned = cleaned.replace(sep, "")
        elif cleaned.count(sep) == 1:
            cleaned = cleaned.replace(sep, ".")
        else:
            raise RowError(f"bad price {text!r}")
    try:
        value = Decimal(cleaned)
    except InvalidOperation as exc:
        raise RowError(f"bad price {text!r}") from exc
    if value < 0:
        raise RowError(f"bad price {text!r}: negative")
    if value != value.quantize(Decimal("0.01")):
        raise RowError(f"bad price {text!r}: more than 2 decimals")
    if value >= Decimal("1e12"):
        raise RowError(f"bad price {text!r}: too large")
    return value.quantize(Decimal("0.01"))


def column_map(header: Iterable[str]) -> dict[str, str]:
    """Our field name for each known column of the file."""
    wanted = {alias: name for name, aliases in ALIASES.items() for alias in aliases}
    mapping: dict[str, str] = {}
    for column in header:
        name = wanted.get(fold(column).replace(" ", "_"))
        if name and name not in mapping.values():
            mapping[column] = name
    return mapping


def columns_required(header: list[str]) -> dict[str, str]:
    """:func:`column_map` of a file's header that names every required column; else
    CatalogFileError with what is missing."""
    columns = column_map(header)
    missing = [name for name in REQUIRED if name not in columns.values()]
    if missing:
        raise CatalogFileError(
            f"the file has no {' or '.join(missing)} column (columns found: {', '.join(header)})"
        )
    return columns


def row_to_data(values: dict[str, str | None], columns: dict[str, str]) -> ProductData:
    fields: dict[str, str] = {}
    for column, name in columns.items():
        value = values.get(column)
        if value is not None and value.strip():
            fields[name] = value.strip()
    if not fields.get("sku"):
        raise RowError("missing sku")
    if not fields.get("name"):
        raise RowError("missing name")
    for name, limit in MAX_LENGTH.items():
        if len(fields.get(name, "")) > limit:
            raise RowError(f"{name} is too long ({len(fields[name])} characters, max {limit})")
    price = parse_price(fields["price"]) if "price" in fields else None
    currency = fields.get("currency", "").upper()
    if currency and not re.fullmatch(r"[A-Z]{3}", currency):
        raise RowError(f"bad currency {fields['currency']!r}: use a 3-letter code such as USD")
    url = fields.get("url", "")
    if url:
        try:
            _url(url)
        except ValidationError as exc:
            raise RowError(f"bad url {url!r}") from exc
    active_text = fold(fields.get("is_active", "true"))
    if active_text not in TRUE | FALSE:
        raise RowError(f"bad active flag {fields['is_active']!r}: use yes/no")
    return ProductData(
        sku=fields["sku"],
        name=fields["name"],
        category=fields.get("category", ""),
        brand=fields.get("brand", ""),
        price=price,
        currency=currency,
        description_html=fields.get("description_html", ""),
        specs_html=fields.get("specs_html", ""),
        url=url,
        is_active=active_text in TRUE,
    )


def _apply(
    product: Product, data: ProductData, content_hash: str, cleaned: tuple[str, str] | None = None
) -> None:
    """Set the product's fields from the row; ``cleaned`` is its ``clean_fields`` result when
    it was computed already."""
    for name, value in asdict(data).items():
        setattr(product, name, value)
    if cleaned is None:
        [cleaned] = clean_fields([(data.description_html, data.specs_html)])
    product.clean_text, product.specs_text = cleaned
    product.content_hash = content_hash
    product.is_deleted = False
    product.deleted_at = None


UPDATE_FIELDS = [
    *ProductData.__dataclass_fields__,
    "clean_text",
    "specs_text",
    "content_hash",
    "is_deleted",
    "deleted_at",
    "updated_at",
]


def rows_parse(
    rows: Iterable[RawRow], columns: dict[str, str], summary: ImportSummary
) -> tuple[list[tuple[int, ProductData, str]], set[str]]:
    """Valid rows (first occurrence of each SKU) and the SKU keys seen in the file."""
    valid: dict[str, tuple[int, ProductData, str]] = {}
    seen_keys: set[str] = set()
    for raw in rows:
        summary.total += 1
        sku = raw.values.get(next((c for c, n in columns.items() if n == "sku"), ""), "") or ""
        sku = sku.strip()
        if sku:
            seen_keys.add(sku.casefold())
        if raw.error:
            summary.add_error(raw.number, sku, raw.error)
            continue
        try:
            data = row_to_data(raw.values, columns)
        except RowError as exc:
            summary.add_error(raw.number, sku, str(exc))
            continue
        content_hash = data.content_hash()
        key = data.sku.casefold()
        if key in valid:
            first_row, _, first_hash = valid[key]
            if first_hash != content_hash:
                summary.add_error(
                    raw.number,
                    data.sku,
                    f"duplicate sku {data.sku!r} with different data "
                    f"(first seen in row {first_row})",
                )
            continue  # an exact repeat of a row is harmless
        valid[key] = (raw.number, data, content_hash)
    return list(valid.values()), seen_keys


def _clean_all(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """:func:`catalog.cleaning.clean_fields` of every pair; many rows are cleaned by a pool of
    processes, one per core (the model is not running yet, so the cores are free)."""
    workers = min(CLEAN_PROCESSES, os.cpu_count() or 1)
    if len(pairs) < CLEAN_IN_PROCESSES_FROM or workers < 2:
        return clean_fields(pairs)
    chunks = [pairs[start : start + CLEAN_CHUNK] for start in range(0, len(pairs), CLEAN_CHUNK)]
    # spawn: a fork would copy this process's threads' state (the vector store's client, torch).
    context = multiprocessing.get_context("spawn")
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            return [cleaned for part in pool.map(clean_fields, chunks) for cleaned in part]
    except (BrokenProcessPool, OSError):
        # No processes here (a main module that starts work when imported, no fork
        # allowed...): cleaning is the same in this process, only slower.
        logger.warning("catalog import: cleaning in this process (no process pool)")
        return clean_fields(pairs)


@dataclass
class _Change:
    product: Product
    data: ProductData
    content_hash: str
    document: str = ""


def _changes(
    tenant: Tenant,
    valid: list[tuple[int, ProductData, str]],
    existing: dict[str, Product],
    summary: ImportSummary,
) -> list[_Change]:
    """The rows that create or change a product, applied to their (unsaved) products, with the
    document each one is embedded with; the others are counted as unchanged."""
    changes: list[_Change] = []
    for _, data, content_hash in valid:
        product = existing.get(data.sku.casefold())
        if product is None:
            product = Product(tenant=tenant)
        elif not (
            product.content_hash != content_hash
            or product.is_deleted
            or product.is_active != data.is_active
        ):
            summary.unchanged += 1
            continue
        changes.append(_Change(product, data, content_hash))
    cleaned = _clean_all([(c.data.description_html, c.data.specs_html) for c in changes])
    now = timezone.now()
    for change, texts in zip(changes, cleaned, strict=True):
        _apply(change.product, change.data, change.content_hash, texts)
        if change.product.pk is not None:
            change.product.updated_at = now
        change.document = index.product_document(change.product)
    return changes


def _write_batch(
    batch: list[_Change], existing: dict[str, Product], summary: ImportSummary
) -> list[Product]:
    """Create and update one batch of products, in one transaction; the products written."""
    to_create = [c.product for c in batch if c.product.pk is None]
    to_update = [c.product for c in batch if c.product.pk is not None]
    with transaction.atomic():
        created = Product.objects.bulk_create(to_create)
        if to_update:
            Product.all_objects.bulk_update(to_update, UPDATE_FIELDS)
    for product in created:
        existing[product.sku.casefold()] = product
    summary.created += len(created)
    summary.updated += len(to_update)
    return [*created, *to_update]


def catalog_import(
    *,
    tenant: Tenant,
    fileobj: IO[bytes],
    filename: str,
    full_sync: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ImportSummary:
    """Upsert the file's products by SKU, report bad rows, keep the index in step.

    Raises CatalogFileError when the file as a whole cannot be read; nothing is
    changed then (full sync never deactivates on a file it could not read).
    """
    header, rows = read_catalog(fileobj, filename)
    columns = columns_required(header)
    summary = ImportSummary()
    valid, seen_keys = rows_parse(rows, columns, summary)
    existing = {p.sku.casefold(): p for p in Product.all_objects.filter(tenant=tenant)}
    changes = _changes(tenant, valid, existing, summary)
    # Embedding is most of an import, and on a machine of few cores torch's threads lose far
    # more than they leave idle when other work runs beside them (benchmarks/README.md,
    # catalog_bench, fourth pass). So the rest is done before the model starts (parsing,
    # cleaning on every core, the documents) or between its batches (one batch's database
    # writes), and only the vector store's writes run beside it, in a thread.
    # Longest documents first, in batches of a multiple of the model's batch: the model pads
    # each forward pass to its longest text, and this is the order and the passes of one
    # encode of the whole set (it sorts by length, longest first). Stable: the file's order
    # among equals.
    changes.sort(key=lambda change: -len(change.document))
    skipped = summary.total - len(changes)  # failed rows, exact repeats and unchanged rows
    if progress:
        progress(skipped, summary.total)

    stored: list[tuple[Future[int], int]] = []  # (storing, rows done once it is stored)

    def report(wait_all: bool) -> None:
        while stored and (wait_all or stored[0][0].done()):
            future, done = stored.pop(0)
            future.result()
            if progress:
                progress(done, summary.total)

    batches = [changes[start : start + BATCH] for start in range(0, len(changes), BATCH)]
    rows_done = skipped
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="catalog-store") as storer:
        written = _write_batch(batches[0], existing, summary) if batches else []
        for number, batch in enumerate(batches):
            prepared = index.index_prepare(tenant=tenant, products=written)
            # The next batch is written now, before this one is given to the vector store:
            # the store of the batch before ran during the embedding and is over, so the
            # database writes do not wait on it for the interpreter (they took 5x longer).
            if number + 1 < len(batches):
                written = _write_batch(batches[number + 1], existing, summary)
            rows_done += len(batch)
            stored.append((storer.submit(_store, tenant, prepared), rows_done))
            report(wait_all=False)
        report(wait_all=True)

    if full_sync:
        stale = Product.objects.filter(tenant=tenant, is_active=True).exclude(
            pk__in=[p.pk for key, p in existing.items() if key in seen_keys]
        )
        stale_ids = list(stale.values_list("pk", flat=True))
        if stale_ids:
            Product.objects.filter(pk__in=stale_ids).update(
                is_active=False, updated_at=timezone.now()
            )
            index.index_remove(tenant=tenant, product_ids=stale_ids)
        summary.deactivated = len(stale_ids)
    return summary


def _store(tenant: Tenant, batch: index.IndexBatch) -> int:
    return index.index_store(tenant=tenant, batch=batch)


def catalog_upload_claim(*, upload_id: int) -> bool:
    """Take a queued upload for processing; False when another worker already has it or it
    is finished (a task enqueued twice, or re-queued by recovery, runs once)."""
    now = timezone.now()
    return (
        CatalogUpload.objects.filter(pk=upload_id, status=CatalogUpload.Status.QUEUED).update(
            status=CatalogUpload.Status.PROCESSING, started_at=now, updated_at=now
        )
        == 1
    )


def catalog_uploads_recover(*, stale_after: float) -> list[tuple[int, int]]:
    """Uploads a dead worker left behind, put back in the queue; ``(tenant_id, upload_id)``.

    An upload that is processing records progress after every batch; one with no progress
    for ``stale_after`` seconds lost its worker. Queued uploads that old lost their task.
    Both are queued again: the import upserts by SKU, so running it again is safe. All
    tenants: this is operator work (the recovery loop), not a request.
    """
    now = timezone.now()
    cutoff = now - timedelta(seconds=stale_after)
    recovered: list[tuple[int, int]] = []
    with scopes_disabled():
        stale = CatalogUpload.objects.filter(
            status__in=[CatalogUpload.Status.QUEUED, CatalogUpload.Status.PROCESSING],
            updated_at__lt=cutoff,
        )
        for upload_id, tenant_id in stale.values_list("pk", "tenant_id"):
            moved = CatalogUpload.objects.filter(pk=upload_id, updated_at__lt=cutoff).update(
                status=CatalogUpload.Status.QUEUED, updated_at=now
            )
            if moved:
                recovered.append((tenant_id, upload_id))
    if recovered:
        logger.warning("catalog uploads re-queued after a lost worker: %s", recovered)
    return recovered


def catalog_upload_process(*, upload: CatalogUpload) -> CatalogUpload:
    """Run a stored upload, recording progress, counts and row errors on it."""
    upload.status = CatalogUpload.Status.PROCESSING
    upload.started_at = timezone.now()
    upload.error_message = ""
    upload.save(update_fields=["status", "started_at", "error_message", "updated_at"])

    def progress(done: int, total: int) -> None:
        CatalogUpload.objects.filter(pk=upload.pk).update(
            processed_rows=done, total_rows=total, updated_at=timezone.now()
        )

    try:
        with upload.file.open("rb") as fileobj:
            summary = catalog_import(
                tenant=upload.tenant,
                fileobj=fileobj,
                filename=upload.original_name or upload.file.name,
                full_sync=upload.full_sync,
                progress=progress,
            )
    except CatalogFileError as exc:
        upload.status = CatalogUpload.Status.FAILED
        upload.error_message = str(exc)
    except Exception:
        logger.exception("catalog upload %s failed", upload.pk)
        upload.status = CatalogUpload.Status.FAILED
        upload.error_message = (
            "The import stopped on an internal error; the operators were notified."
        )
    else:
        upload.status = CatalogUpload.Status.DONE
        upload.total_rows = upload.processed_rows = summary.total
        upload.created_count = summary.created
        upload.updated_count = summary.updated
        upload.unchanged_count = summary.unchanged
        upload.deactivated_count = summary.deactivated
        upload.failed_count = summary.failed
        upload.errors = summary.errors
    upload.finished_at = timezone.now()
    upload.save()
    return upload


def product_save(*, product: Product) -> Product:
    """Save an edited product, recompute its clean text and hash, and update the index."""
    data = ProductData(
        **{name: getattr(product, name) for name in ProductData.__dataclass_fields__}
    )
    _apply(product, data, data.content_hash())
    product.save()
    index.index_upsert(tenant=product.tenant, products=[product])
    return product


def products_soft_delete(*, tenant: Tenant, products: Iterable[Product]) -> int:
    ids = [p.pk for p in products]
    count, _ = Product.objects.filter(tenant=tenant, pk__in=ids).delete()
    index.index_remove(tenant=tenant, product_ids=ids)
    return count


def products_restore(*, tenant: Tenant, products: Iterable[Product]) -> int:
    ids = [p.pk for p in products]
    count = Product.all_objects.filter(tenant=tenant, pk__in=ids, is_deleted=True).restore()
    index.index_upsert(tenant=tenant, products=Product.objects.filter(pk__in=ids))
    return count
