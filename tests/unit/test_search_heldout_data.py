"""The held-out search evaluation's data is well formed (benchmarks/search_heldout/): both
catalogs read through the importer's own reader and row checks without a bad row, every
relevant SKU is an active product of its catalog, every query has a kind and the split that
``assign_splits`` gives it, and both splits cover every kind."""

from __future__ import annotations

import collections
import re

import pytest

from benchmarks.search_heldout_eval import (
    CATALOGS,
    KINDS,
    SPLITS,
    assign_splits,
    catalog_path,
    load_queries,
    queries_document,
)
from catalog.readers import read_catalog
from catalog.services import column_map, row_to_data

QUERIES = load_queries()
MIN_PRODUCTS = {"lab_es": 150, "process_en": 100}


def catalog_products(catalog: str) -> dict[str, bool]:
    """SKU -> active, for every row of the catalog, read as the import reads it."""
    path = catalog_path(catalog)
    with path.open("rb") as fileobj:
        header, rows = read_catalog(fileobj, path.name)
        columns = column_map(header)
        products: dict[str, bool] = {}
        for row in rows:
            assert row.error is None, (catalog, row.number, row.error)
            data = row_to_data(row.values, columns)
            assert data.sku not in products, (catalog, row.number, data.sku)
            products[data.sku] = data.is_active
    return products


@pytest.mark.parametrize("catalog", CATALOGS)
def test_catalog_reads_without_a_bad_row(catalog):
    products = catalog_products(catalog)
    assert sum(products.values()) >= MIN_PRODUCTS[catalog]
    document = queries_document(catalog)
    assert document["catalog"] == catalog
    assert catalog_path(catalog).name == document["file"]


@pytest.mark.parametrize("catalog", CATALOGS)
def test_every_relevant_sku_is_an_active_product_of_its_catalog(catalog):
    products = catalog_products(catalog)
    for query in (q for q in QUERIES if q.catalog == catalog):
        assert query.relevant, query.id
        assert len(set(query.relevant)) == len(query.relevant), query.id
        missing = [sku for sku in query.relevant if sku not in products]
        inactive = [sku for sku in query.relevant if products.get(sku) is False]
        assert not missing, (query.id, missing)
        assert not inactive, (query.id, inactive)


def test_queries_have_an_id_a_kind_a_text_and_a_split():
    assert len(QUERIES) >= 150
    ids = [q.id for q in QUERIES]
    assert len(set(ids)) == len(ids)
    for query in QUERIES:
        assert re.fullmatch(r"(lab|proc)-\d{3}", query.id), query.id
        assert query.kind in KINDS, query.id
        assert query.split in SPLITS, query.id
        assert query.text.strip() == query.text and query.text, query.id
    texts = collections.Counter((q.catalog, q.text.casefold()) for q in QUERIES)
    assert [text for text, n in texts.items() if n > 1] == []


def test_the_split_is_the_fixed_rule():
    splits = assign_splits(QUERIES)
    assert {q.id: q.split for q in QUERIES} == splits
    tune = sum(q.split == "tune" for q in QUERIES) / len(QUERIES)
    assert 0.35 <= tune <= 0.45


def test_both_splits_cover_every_kind_of_every_catalog():
    strata = collections.Counter((q.catalog, q.kind, q.split) for q in QUERIES)
    kinds = {(q.catalog, q.kind) for q in QUERIES}
    for catalog in CATALOGS:
        assert {kind for c, kind in kinds if c == catalog} >= {
            "sku",
            "need",
            "spec",
            "typo",
            "synonym",
        }
    for catalog, kind in kinds:
        for split in SPLITS:
            assert strata[(catalog, kind, split)] >= 1, (catalog, kind, split)
    assert {kind for _, kind in kinds} == set(KINDS)
