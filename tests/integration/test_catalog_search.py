"""Search with the real model and a real Chroma directory on a small catalog:
SKU lookups, Spanish needs with and without accents, typos, English needs,
filters, and tenant isolation."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from catalog.index import HNSW_CONFIGURATION, get_collection
from catalog.search import search
from tenants.scoping import tenant_scope
from tests.factories.catalog import CATALOG, load

pytestmark = pytest.mark.django_db


def top(tenant, query, k=5, **kwargs):
    with tenant_scope(tenant):
        return [hit.sku for hit in search(tenant=tenant, query=query, k=k, **kwargs)]


@pytest.fixture
def catalog_a(tenant_a, catalog_index):
    assert load(tenant_a, CATALOG).created == len(CATALOG)
    return tenant_a


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("HL-TUR-5200", "HL-TUR-5200"),
        ("hltur5200", "HL-TUR-5200"),
        ("tengo el AQ-OD-10, necesito repuesto", "AQ-OD-10"),
        ("TU-5200", "HL-TUR-5200"),
        ("necesito medir turbidez en agua potable", "HL-TUR-5200"),
        ("turbidimetro portatil", "HL-TUR-5200"),
        ("turbidímetro portátil", "HL-TUR-5200"),
        ("turbidimtro portatl", "HL-TUR-5200"),
        ("oxigeno disuelto para acuicultura", "AQ-OD-10"),
        ("conductividad en mS/cm", "AQ-CON-40"),
        ("industrial pressure sensor 16 bar", "IN-PT-900"),
        ("I need to measure dissolved oxygen in wastewater", "AQ-OD-10"),
        ("chlorine in swimming pools", "HL-CL-25"),
    ],
)
def test_search_finds_the_right_product_first(catalog_a, query, expected):
    assert top(catalog_a, query)[0] == expected


def test_each_mode_answers_and_fused_is_the_default(catalog_a):
    for mode in ("dense", "lexical", "fused"):
        hits = top(catalog_a, "medidor de pH para laboratorio", mode=mode)
        assert hits and hits[0] == "HL-PH-300", mode


def test_the_index_holds_vectors_and_the_metadata_it_is_read_by_in_a_cosine_graph(catalog_a):
    """Search filters on category and brand, drift compares sku and content hash; nothing
    reads the documents back, so they are not stored. The graph measures cosine distance and
    is built and searched with the candidate lists its recall was measured with."""
    with tenant_scope(catalog_a):
        collection = get_collection(catalog_a)
        stored = collection.get(include=["documents", "metadatas"])
    assert len(stored["ids"]) == len(CATALOG)
    assert stored["documents"] == [None] * len(CATALOG)
    assert {tuple(sorted(m)) for m in stored["metadatas"]} == {
        ("brand", "category", "content_hash", "sku")
    }
    hnsw = collection.configuration_json["hnsw"]
    assert hnsw["space"] == "cosine"
    assert hnsw["ef_construction"] == HNSW_CONFIGURATION["ef_construction"] == 200
    assert hnsw["ef_search"] == HNSW_CONFIGURATION["ef_search"] == 200
    assert collection.metadata["tenant_id"] == catalog_a.pk


def test_filters_limit_the_results(catalog_a):
    assert set(top(catalog_a, "cloro", k=5, filters={"category": "Reactivos"})) == {"RE-DPD-100"}
    assert set(top(catalog_a, "agua", k=10, filters={"brand": "AquaSense"})) <= {
        "AQ-CON-40",
        "AQ-OD-10",
    }


def test_inactive_products_are_not_found(catalog_a):
    load(catalog_a, [{**CATALOG[0], "is_active": "no"}])
    assert "HL-TUR-5200" not in top(catalog_a, "turbidímetro TU-5200", k=7)


def test_another_tenants_search_never_returns_these_products(catalog_a, tenant_b):
    other = [
        {
            "sku": "ZZ-1",
            "name": "Bomba dosificadora",
            "category": "Bombas",
            "description_html": "<p>Dosificación de cloro</p>",
        }
    ]
    load(tenant_b, other)
    a_skus = {p["sku"] for p in CATALOG}
    for query in ("HL-TUR-5200", "turbidez", "cloro", "pressure sensor", "oxígeno"):
        for mode in ("fused", "dense", "lexical"):
            found = set(top(tenant_b, query, k=10, mode=mode))
            assert not found & a_skus, (query, mode, found)
    assert top(tenant_b, "cloro") == ["ZZ-1"]
    assert "ZZ-1" not in top(catalog_a, "bomba dosificadora", k=7)


def test_search_catalog_command(catalog_a):
    out = io.StringIO()
    call_command("search_catalog", catalog_a.slug, "HL-PH-300", "-k", "3", "--json", stdout=out)
    hits = json.loads(out.getvalue())
    assert hits[0]["sku"] == "HL-PH-300" and "sku" in hits[0]["via"]
    out = io.StringIO()
    call_command("search_catalog", catalog_a.slug, "turbidez", stdout=out)
    assert out.getvalue().splitlines()[0].startswith("HL-TUR-5200")
