"""Hybrid product search: field-aware lexical ranking (BM25F) first, exact SKU/model matches
above it, the dense ranking (Chroma) only where the lexical one is short; numbers and units
understood.

- Lexical (``catalog.lexical``): BM25F over the SKU, name, brand, category, specs and
  description, each weighed apart; accent folding, trigrams for typos, and the ES↔EN
  glossary's group tokens on both sides (``catalog.glossary``), so an English need finds a
  Spanish product and the other way round.
- Synonyms: the tenant's synonym groups (``catalog.synonyms``) add the other terms of a group
  the query names, at query time only.
- Specs (``catalog.specs``): the quantities of the query ("0 a 1000 NTU", "hasta 200 mS/cm",
  "resolución 0,01 pH") are compared with each product's ranges and resolutions in base
  units; a product that covers them ranks higher, one whose range falls short lower.
- Exact: a product whose SKU the query names (without case, spaces, dashes, dots or
  slashes) is always first; then the products carrying a model number the query names (in
  their name, or as segments of their SKU: "2100Q" for "HC.2100Q.01"), or whose SKU starts
  with what the query typed; then everything else, by the fused score.
- Dense: all-MiniLM-L6-v2 embeddings of the product documents. On the hand-written and the
  generated evaluations it pulled wrong products into the top 5 more often than it rescued
  a miss (benchmarks/README.md), so a fused search asks it only when the lexical ranking
  has fewer than ``k`` products, to fill the places left, and the query is embedded only
  then (:func:`dense_weight_for`); ``mode="dense"`` is the dense ranking alone.

Each search reads the tenant's catalog version (count, last change and last id of its
active products) and synonyms version from the database: the in-memory index and the
cached results (``catalog.caches``) are reused only while both are unchanged. The query's
embedding comes from ``catalog.queries`` (batched across concurrent turns and cached); async
callers can compute it ahead with :func:`search_prefetch`.
"""

from __future__ import annotations

import bisect
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any, Literal

import numpy as np
from django.db.models import Count, Max, Subquery

from catalog.caches import search_results
from catalog.glossary import TermGroups, glossary
from catalog.index import get_collection, index_key
from catalog.lexical import LexicalIndex, ProductFields, field_tokens
from catalog.models import Product, SynonymGroup
from catalog.queries import query_vector_soon, query_vectors_async
from catalog.specs import UNITS, Quantity, SpecTable, parse_quantities
from catalog.synonyms import tenant_synonyms
from catalog.text import fold, model_keys, quantities, sku_key, trigrams, words
from tenants.models import Tenant

Mode = Literal["fused", "dense", "lexical"]
RRF_K = 60
CANDIDATES = 50
# A key such as "tu5200" carried by more products than this is a generic term ("pt100"), not a
# model number.
MODEL_MAX_PRODUCTS = 20
# Fusion weights of the rankings (reciprocal rank fusion); see benchmarks/README.md.
WEIGHTS = {"lexical": 1.0, "dense": 0.3}
# When a fused search asks the dense ranking: "short" (the lexical ranking has fewer than k
# products; see dense_weight_for) or "always" (the fusion before issue 11's second pass).
DENSE_WHEN = "short"
FILL_WEIGHT = 0.001
# Tiers added to the fused score: an exact SKU is always first, a model number next.
TIER_SKU = 2.0
TIER_MODEL = 1.0
# Query term weights: a word, the trigrams of one word (together), a glossary group, a word of
# a tenant synonym's other terms, the known words one typo away from an unknown word.
TRIGRAM_WEIGHT = 0.6
GLOSSARY_WEIGHT = 1.0
SYNONYM_WEIGHT = 0.8
SPELLING_WEIGHT = 0.8
NUMBER_WEIGHT = 0.3
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*$")
# How much the specs move a product: its lexical score times (1 + SPEC_WEIGHT x spec score),
# the spec score being -0.5 (a range that falls short) to 1 (covers it exactly).
SPEC_WEIGHT = 1.0
SPEC_ADD = 0.3
_PUNCTUATION = "¿?¡!,;:()[]{}\"'«»\u201c\u201d\u2018\u2019"


@dataclass(frozen=True)
class SearchHit:
    product_id: int
    sku: str
    name: str
    score: float
    sources: tuple[str, ...] = ()


@dataclass
class _CatalogIndex:
    version: tuple
    ids: np.ndarray
    skus: list[str]
    names: list[str]
    categories: list[str]
    brands: list[str]
    sku_index: dict[str, int]
    sorted_skus: list[tuple[str, int]]  # (SKU key, position), for SKUs typed in part
    model_index: dict[str, list[int]]  # model key -> positions of the products carrying it
    positions: dict[int, int]  # product id -> position
    lexical: LexicalIndex = field(repr=False)
    specs: SpecTable = field(repr=False)


@dataclass(frozen=True)
class QueryTerms:
    """A query as the lexical ranking reads it: weighted tokens, and its quantities."""

    terms: dict[str, float]
    quantities: list[Quantity]


_lexical_cache: dict[int, _CatalogIndex] = {}
_cache_lock = threading.Lock()


def _versions(tenant: Tenant) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """The tenant's catalog version (count, last change and last id of its active products)
    and synonyms version (count and last change of its groups, deleted ones included, so a
    deletion counts), in one statement (one scan of the products' covering index and two
    scalar subqueries on the groups): every search reads them."""
    groups = SynonymGroup.all_objects.filter(tenant=tenant).order_by().values("tenant")
    rows = list(
        Product.objects.filter(tenant=tenant, is_active=True)
        .order_by()
        .values("tenant")
        .annotate(
            n=Count("pk"),
            changed=Max("updated_at"),
            top=Max("pk"),
            groups_n=Subquery(groups.annotate(v=Count("pk")).values("v")),
            groups_changed=Subquery(groups.annotate(v=Max("updated_at")).values("v")),
        )
        .values_list("n", "changed", "top", "groups_n", "groups_changed")
    )
    if not rows:  # no active product: nothing to search, synonyms or not
        return (tenant.pk, 0, None, None), (tenant.pk, 0, None)
    n, changed, top, groups_n, groups_changed = rows[0]
    return (tenant.pk, n, changed, top), (tenant.pk, groups_n or 0, groups_changed)


def product_fields(
    sku: str, name: str, brand: str, category: str, text: str, specs: str
) -> ProductFields:
    """A product's searchable fields; the description is the clean text before the specs."""
    description = text[: len(text) - len(specs)] if specs and text.endswith(specs) else text
    return ProductFields(
        sku=sku, name=name, brand=brand, category=category, specs=specs, description=description
    )


_SKU_SEPARATORS = re.compile(r"[\s\-_./]+")


def sku_segment_keys(sku: str) -> set[str]:
    """The model numbers inside a SKU: the keys of its runs of whole segments, short of the
    whole SKU, that look like a model ("HC.2100Q.01" -> "2100q", "hc2100q", "2100q01"): a
    letter and a digit and at least 4 characters, or 5 digits and more. A customer types
    the model ("el 2100Q") and means every SKU built on it, not an accessory whose name
    mentions it."""
    segments = [s for s in _SKU_SEPARATORS.split(fold(sku)) if s]
    out = set()
    for start in range(len(segments)):
        for end in range(start + 1, len(segments) + 1):
            if end - start == len(segments):
                continue
            key = "".join(segments[start:end])
            digits = sum(c.isdigit() for c in key)
            if (digits and digits < len(key) and len(key) >= 4) or (
                digits == len(key) and len(key) >= 5
            ):
                out.add(key)
    return out


def _catalog_index(tenant: Tenant, version: tuple) -> _CatalogIndex | None:
    cached = _lexical_cache.get(tenant.pk)
    if cached is not None and cached.version == version:
        return cached
    with _cache_lock:
        cached = _lexical_cache.get(tenant.pk)
        if cached is not None and cached.version == version:
            return cached
        rows = list(
            Product.objects.filter(tenant=tenant, is_active=True)
            .order_by("pk")
            .values_list("pk", "sku", "name", "category", "brand", "clean_text", "specs_text")
        )
        if not rows:
            _lexical_cache.pop(tenant.pk, None)
            return None
        fields = [
            product_fields(sku, name, brand, category, text, specs)
            for _, sku, name, category, brand, text, specs in rows
        ]
        models: dict[str, list[int]] = {}
        for i, row in enumerate(rows):
            for key in model_keys(f"{row[1]} {row[2]}") | sku_segment_keys(row[1]):
                models.setdefault(key, []).append(i)
        sku_index = {sku_key(r[1]): i for i, r in enumerate(rows)}
        built = _CatalogIndex(
            version=version,
            ids=np.array([r[0] for r in rows]),
            skus=[r[1] for r in rows],
            names=[r[2] for r in rows],
            categories=[fold(r[3]) for r in rows],
            brands=[fold(r[4]) for r in rows],
            sku_index=sku_index,
            sorted_skus=sorted(sku_index.items()),
            model_index={k: p for k, p in models.items() if len(p) <= MODEL_MAX_PRODUCTS},
            positions={r[0]: i for i, r in enumerate(rows)},
            lexical=LexicalIndex([field_tokens(f) for f in fields]),
            specs=SpecTable([parse_quantities(f.specs or f.description) for f in fields]),
        )
        _lexical_cache[tenant.pk] = built
        return built


def _allowed(index: _CatalogIndex, filters: dict[str, str]) -> np.ndarray | None:
    mask = None
    for key, values in (("category", index.categories), ("brand", index.brands)):
        if filters.get(key):
            wanted = fold(filters[key])
            column = np.array([wanted in value for value in values])
            mask = column if mask is None else mask & column
    return mask


def query_terms(
    query: str, synonyms: TermGroups | None = None, lexical: LexicalIndex | None = None
) -> QueryTerms:
    """The weighted tokens of ``query`` for the lexical index: its words (and, for a word the
    catalog does not know, the known words one typo away), trigrams, quantities, SKU and
    model keys, the glossary's groups, and the words of the tenant's synonyms it names."""
    terms: dict[str, float] = {}

    def add(token: str, weight: float) -> None:
        terms[token] = terms.get(token, 0.0) + weight

    typed = words(query)
    found: list[str] = []
    for word in typed:
        # A bare number or unit says little alone ("0", "5", "ms/cm"); the quantity token and
        # the spec comparison carry what it means, in any unit.
        add(
            word,
            NUMBER_WEIGHT if word in UNITS or _NUMBER.match(word) else 1.0,
        )
        grams = trigrams([word])
        for gram in grams:
            add(gram, TRIGRAM_WEIGHT / len(grams))
        corrections = lexical.corrections(word) if lexical is not None else []
        for correction in corrections:
            add(correction, SPELLING_WEIGHT / len(corrections))
        found.append(corrections[0] if corrections else word)
    for token in quantities(query):
        add(token, 1.0)
    for key in {sku_key(part) for part in _parts(query)} | model_keys(query):
        if key not in terms:
            add(key, 1.0)
    expanded = list(found)
    if synonyms is not None:
        for match in synonyms.find_in_words(found):
            for word in synonyms.other_words(match, found):
                add(word, SYNONYM_WEIGHT)
                expanded.append(word)
    terms_glossary = glossary()
    for group in dict.fromkeys(m.group for m in terms_glossary.find_in_words(expanded)):
        add(terms_glossary.token(group), GLOSSARY_WEIGHT)
    return QueryTerms(terms=terms, quantities=parse_quantities(query))


def _parts(query: str) -> list[str]:
    return [p.strip(_PUNCTUATION) for p in query.split() if p.strip(_PUNCTUATION)]


def _lexical_scores(
    index: _CatalogIndex, analysed: QueryTerms, mask: np.ndarray | None
) -> np.ndarray:
    scores = index.lexical.scores(analysed.terms)
    spec = index.specs.scores(analysed.quantities)
    if spec is not None:
        # Products that meet the asked specs rise, those that fall short sink; a product
        # that covers them is found even if its words match little of the query.
        boost = SPEC_ADD * float(scores.max(initial=0.0)) * np.maximum(spec, 0.0)
        scores = (scores * (1.0 + SPEC_WEIGHT * spec) + boost).astype(np.float32)
    if mask is not None:
        scores = np.where(mask, scores, 0.0)
    return scores


def _top(scores: np.ndarray, n: int) -> list[int]:
    """Positions of the ``n`` best positive scores, best first."""
    candidates = np.argpartition(-scores, n)[:n] if len(scores) > n else np.arange(len(scores))
    ordered = candidates[np.argsort(-scores[candidates], kind="stable")]
    return [int(i) for i in ordered if scores[i] > 0]


def _exact_rankings(
    index: _CatalogIndex, query: str, mask: np.ndarray | None
) -> tuple[list[int], list[int]]:
    """Positions of the products whose SKU the query names (whole, or one, two or three of its
    words joined); and of the products carrying a model number it names, or whose SKU starts
    with what it typed (a SKU typed in part), in no order."""
    parts = _parts(query)
    candidates = [sku_key(query), *(sku_key(p) for p in parts)]
    candidates += [sku_key(a + b) for a, b in pairwise(parts)]
    candidates += [sku_key("".join(parts[i : i + 3])) for i in range(len(parts) - 2)]
    candidates = [key for key in dict.fromkeys(candidates) if len(key) >= 3]

    def allowed(position: int) -> bool:
        return mask is None or bool(mask[position])

    skus = [p for key in candidates if (p := index.sku_index.get(key)) is not None and allowed(p)]
    skus = list(dict.fromkeys(skus))
    models: list[int] = []
    for key in [*sorted(model_keys(query)), *candidates]:
        for position in index.model_index.get(key, ()):
            if allowed(position) and position not in skus and position not in models:
                models.append(position)
    if not skus:
        for key in candidates:
            if len(key) < 5 or not any(c.isdigit() for c in key):
                continue
            start = bisect.bisect_left(index.sorted_skus, (key, -1))
            found = []
            for sku, position in index.sorted_skus[start : start + MODEL_MAX_PRODUCTS + 1]:
                if not sku.startswith(key):
                    break
                found.append(position)
            if len(found) <= MODEL_MAX_PRODUCTS:
                models += [p for p in found if allowed(p) and p not in models]
    return skus, models


def _dense_ranking(
    tenant: Tenant, vector: Callable[[], np.ndarray], filters: dict[str, str], n: int
) -> list[int]:
    collection = get_collection(tenant)
    count = collection.count()
    if count == 0:
        return []
    where: dict[str, Any] | None = None
    clauses: list[dict[str, Any]] = [
        {key: filters[key]} for key in ("category", "brand") if filters.get(key)
    ]
    if len(clauses) == 1:
        where = clauses[0]
    elif clauses:
        where = {"$and": clauses}
    result = collection.query(
        query_embeddings=[vector()], n_results=min(n, count), where=where, include=[]
    )
    return [int(i) for i in result["ids"][0]]


def search(
    *,
    tenant: Tenant,
    query: str,
    k: int = 5,
    filters: dict[str, str] | None = None,
    mode: Mode = "fused",
) -> list[SearchHit]:
    """The tenant's best ``k`` active products for ``query``. The caller holds the scope."""
    query = normalize_query(query)
    filters = {key: value for key, value in (filters or {}).items() if value}
    if not query or k <= 0:
        return []

    def embedding() -> Callable[[], np.ndarray]:
        return query_vector_soon(tenant_id=tenant.pk, text=query)

    # Dense only: the query is embedded in the embedder thread while this one reads the
    # versions (a cached vector costs nothing). Fused: only if the lexical ranking needs it.
    early = embedding() if mode == "dense" else None
    version, synonyms = _versions(tenant)
    scope = (mode, k, tuple(sorted(filters.items())))
    key = (tenant.pk, version, synonyms, index_key(), scope, query)
    cached = search_results.get(key)
    if cached is not None:
        return list(cached)
    hits = _search(
        tenant, version, synonyms, query, (lambda: early) if early else embedding, k, filters, mode
    )
    search_results.put(key, tuple(hits))
    return hits


def normalize_query(query: str | None) -> str:
    """The text that is searched (and embedded) for ``query``."""
    return (query or "").strip()[:500]


async def search_prefetch(*, tenant: Tenant, query: str | None, mode: Mode = "fused") -> None:
    """Embed the query ahead of :func:`search`, off the calling thread; no database access.

    Concurrent turns that prefetch share one forward pass of the model. A fused search asks
    the dense ranking only when the lexical one is short (:func:`dense_weight_for`); the
    agent still embeds ahead, while it waits on other work, so such a search never waits
    for the model.
    """
    query = normalize_query(query)
    if query and mode in ("fused", "dense"):
        await query_vectors_async(tenant_id=tenant.pk, texts=[query])


def dense_weight_for(lexical: list[int], skus: list[int], k: int) -> float:
    """The weight of the dense ranking in a fused search; 0 when it is not asked (the query
    is then not embedded). The lexical ranking is trusted first: the dense one is asked only
    when the lexical ranking has fewer than ``k`` products (a query in words the catalog does
    not use), and then only fills the places left (``FILL_WEIGHT``: below every lexical hit),
    never for a SKU the query names. ``DENSE_WHEN = "always"`` is the fusion of before
    (both rankings, dense weighing ``WEIGHTS["dense"]``), kept for comparison; see
    benchmarks/README.md."""
    if skus:
        return 0.0
    if DENSE_WHEN == "always":
        return WEIGHTS["dense"]
    return FILL_WEIGHT if len(lexical) < k else 0.0


def _search(
    tenant: Tenant,
    version: tuple,
    synonyms: tuple,
    query: str,
    embedding: Callable[[], Callable[[], np.ndarray]],
    k: int,
    filters: dict[str, str],
    mode: Mode,
) -> list[SearchHit]:
    index = _catalog_index(tenant, version)
    if index is None:
        return []
    mask = _allowed(index, filters)
    rankings: dict[str, list[int]] = {}
    skus: list[int] = []
    models: list[int] = []
    dense_weight = WEIGHTS["dense"] if mode == "dense" else 0.0
    weights = dict(WEIGHTS)
    if mode in ("fused", "lexical"):
        groups = tenant_synonyms(tenant=tenant, version=synonyms)
        analysed = query_terms(query, groups, index.lexical)
        rankings["lexical"] = _top(_lexical_scores(index, analysed, mask), CANDIDATES)
        if mode == "fused":
            skus, models = _exact_rankings(index, query, mask)
            dense_weight = dense_weight_for(rankings["lexical"], skus, k)
    if dense_weight:
        dense = _dense_ranking(tenant, embedding(), filters, CANDIDATES)
        # Indexed but no longer active: the vector index is behind the database.
        rankings["dense"] = [index.positions[i] for i in dense if i in index.positions]
        weights["dense"] = dense_weight

    scores: dict[int, float] = {}
    sources: dict[int, list[str]] = {}
    for name, ranking in rankings.items():
        for rank, position in enumerate(ranking):
            scores[position] = scores.get(position, 0.0) + weights[name] / (RRF_K + rank + 1)
            sources.setdefault(position, []).append(name)
    for name, tier, positions in (("sku", TIER_SKU, skus), ("model", TIER_MODEL, models)):
        for position in positions:
            scores[position] = scores.get(position, 0.0) + tier
            sources.setdefault(position, []).append(name)
    best = sorted(scores, key=lambda position: -scores[position])[:k]
    return [
        SearchHit(
            product_id=int(index.ids[position]),
            sku=index.skus[position],
            name=index.names[position],
            score=round(scores[position], 6),
            sources=tuple(sources[position]),
        )
        for position in best
    ]
