"""Fused search trusts the lexical ranking (issue 11, second pass): a model typed alone puts
the SKUs built on it first, the query is embedded only when the lexical ranking is short, and
the import embeds batches of like-sized texts. Real model, real Chroma directory."""

from __future__ import annotations

import io
import json

import pytest

from catalog import index as catalog_index_module
from catalog import search as search_module
from catalog import services
from catalog.caches import query_vectors
from catalog.index import index_drift
from tenants.scoping import tenant_scope
from tests.factories.catalog import load
from tests.integration.test_catalog_search_issue11 import BILINGUAL, product, top

pytestmark = pytest.mark.django_db


MODELS = [
    product(
        "XR.9988776",
        "Patrones de calibración para 4400B y 4400B LED (kit)",
        "Patrones",
        "Hidrolab",
        description="<p>Kit de patrones para el turbidímetro 4400B y el 4400B LED.</p>",
    ),
    product("XR.4400B.01", "Turbidímetro portátil", "Turbidez", "Hidrolab"),
    product("XR.4400B.LED", "Turbidímetro portátil con LED", "Turbidez", "Hidrolab"),
    product("XR.5500.01", "Turbidímetro de laboratorio", "Turbidez", "Hidrolab"),
]


@pytest.fixture
def models(tenant_a, catalog_index):
    assert load(tenant_a, MODELS).created == len(MODELS)
    return tenant_a


@pytest.mark.parametrize("query", ["¿hay 4400B en stock?", "4400b", "precio del 4400 B"])
def test_a_model_typed_alone_puts_the_skus_built_on_it_first(models, query):
    """The accessory names the model more often than the instruments do; the SKUs that carry
    it as a segment ("XR.4400B.01") come first all the same."""
    assert set(top(models, query)[:2]) == {"XR.4400B.01", "XR.4400B.LED"}


def test_without_the_skus_segments_the_accessory_comes_first(models, monkeypatch):
    """The control of the test above."""
    monkeypatch.setattr(search_module, "sku_segment_keys", lambda sku: set())
    search_module._lexical_cache.clear()
    assert top(models, "¿hay 4400B en stock?")[0] == "XR.9988776"


CATALOG = [
    *BILINGUAL,
    product("ES-TUR-2", "Turbidímetro portátil TB-100", "Turbidez", "Hidrolab"),
    product("ES-TUR-3", "Turbidímetro de proceso TB-900", "Turbidez", "Hidrolab"),
    product("ES-TUR-4", "Turbidímetro con luz infrarroja TB-400", "Turbidez", "Hidrolab"),
    product("ES-TUR-5", "Turbidímetro de bolsillo TB-50", "Turbidez", "Hidrolab"),
]


@pytest.fixture
def catalog(tenant_a, catalog_index):
    assert load(tenant_a, CATALOG).created == len(CATALOG)
    return tenant_a


def embedded(text: str) -> bool:
    return any(key[2] == text for key in query_vectors._data)


def test_a_query_the_lexical_ranking_answers_is_not_embedded(catalog):
    hits = top(catalog, "turbidímetro portátil")
    assert hits[0] == "ES-TUR-2" and len(hits) == 5
    assert not embedded("turbidímetro portátil")
    top(catalog, "ES-BAL-1")  # a SKU: never
    assert not embedded("ES-BAL-1")


def test_a_short_lexical_ranking_is_filled_by_the_dense_one_below_it(catalog):
    """One product matches "balanza" and nothing matches the rest: the lexical hit comes
    first, then the dense ranking's products fill the places left."""
    hits = top(catalog, "balanza para pesar muestras de suelo húmedo")
    assert embedded("balanza para pesar muestras de suelo húmedo")
    assert hits[0] == "ES-BAL-1" and len(hits) == 5 and len(set(hits)) == 5
    assert top(catalog, "balanza para pesar muestras de suelo húmedo", mode="lexical") == [
        "ES-BAL-1"
    ]


def test_the_fusion_of_before_is_still_there_for_comparison(catalog, monkeypatch):
    monkeypatch.setattr(search_module, "DENSE_WHEN", "always")
    top(catalog, "turbidímetro portátil")
    assert embedded("turbidímetro portátil")


def test_the_import_embeds_batches_of_like_sized_texts(tenant_a, catalog_index, monkeypatch):
    """Rows are embedded by the length of their document, longest first (the order of one
    encode of the whole set), whatever their order in the file, and every product is indexed
    as it should be."""
    sizes = [900, 10, 700, 30, 800, 20]
    rows = [
        product(f"P-{n}", f"Producto {n}", description="x" * size) for n, size in enumerate(sizes)
    ]
    batches: list[list[str]] = []
    prepare = catalog_index_module.index_prepare

    def recording(*, tenant, products):
        batches.append([p.sku for p in products])
        return prepare(tenant=tenant, products=products)

    monkeypatch.setattr(services, "BATCH", 2)
    monkeypatch.setattr(catalog_index_module, "index_prepare", recording)
    progress: list[tuple[int, int]] = []
    with tenant_scope(tenant_a):
        summary = services.catalog_import(
            tenant=tenant_a,
            fileobj=io.BytesIO(json.dumps(rows).encode()),
            filename="c.json",
            progress=lambda done, total: progress.append((done, total)),
        )
        assert summary.created == len(rows) and not summary.failed
        assert index_drift(tenant=tenant_a).clean
    assert batches == [["P-0", "P-4"], ["P-2", "P-3"], ["P-5", "P-1"]]
    assert progress[-1] == (6, 6) and progress == sorted(progress)


def test_many_rows_are_cleaned_by_a_pool_of_processes_as_they_would_be_here(
    tenant_a, catalog_index, monkeypatch
):
    """From ``CLEAN_IN_PROCESSES_FROM`` rows the HTML is cleaned in other processes; what is
    stored and indexed is what cleaning in this process gives."""
    from catalog.cleaning import clean_fields
    from catalog.models import Product

    rows = [
        product(
            f"H-{n}",
            f"Medidor {n}",
            description=f"<p>Rango<br>0 a {n}00&nbsp;NTU</p><ul><li>Precisión ±2 %",
            specs=f"<table><tr><td>Resolución<td>0,0{n} NTU</table>",
        )
        for n in range(7)
    ]
    monkeypatch.setattr(services, "CLEAN_IN_PROCESSES_FROM", 3)
    monkeypatch.setattr(services, "CLEAN_CHUNK", 2)
    pool_used: list[int] = []
    pool = services.ProcessPoolExecutor

    def counting(*args, **kwargs):
        pool_used.append(1)
        return pool(*args, **kwargs)

    monkeypatch.setattr(services, "ProcessPoolExecutor", counting)
    with tenant_scope(tenant_a):
        summary = services.catalog_import(
            tenant=tenant_a, fileobj=io.BytesIO(json.dumps(rows).encode()), filename="c.json"
        )
        assert summary.created == len(rows) and not summary.failed
        assert index_drift(tenant=tenant_a).clean
        stored = {p.sku: (p.clean_text, p.specs_text) for p in Product.objects.all()}
    expected = clean_fields([(r["description_html"], r["specs_html"]) for r in rows])
    assert pool_used
    assert stored == {r["sku"]: texts for r, texts in zip(rows, expected, strict=True)}
    assert stored["H-3"] == (
        "Rango\n0 a 300 NTU\n\n- Precisión ±2 %\nResolución | 0,03 NTU",
        "Resolución | 0,03 NTU",
    )
