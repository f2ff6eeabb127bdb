"""Search that finds what a customer means (issue 11), with the real model and a real Chroma
directory: the ES↔EN glossary, specs that mean numbers, SKUs typed any way, and synonyms
per tenant."""

from __future__ import annotations

import pytest

from catalog import index as catalog_index_module
from catalog import lexical
from catalog import search as search_module
from catalog.glossary import TermGroups
from catalog.models import SynonymGroup
from catalog.search import search
from tenants.scoping import tenant_scope
from tests.factories.catalog import load

pytestmark = pytest.mark.django_db


def top(tenant, query, k=5, **kwargs):
    with tenant_scope(tenant):
        return [hit.sku for hit in search(tenant=tenant, query=query, k=k, **kwargs)]


def product(sku, name, category="", brand="", description="", specs=""):
    return {
        "sku": sku,
        "name": name,
        "category": category,
        "brand": brand,
        "description_html": description,
        "specs_html": specs,
    }


BILINGUAL = [
    product("ES-TUR-1", "Turbidímetro de laboratorio TB-300", "Turbidez", "Hidrolab"),
    product("ES-CAU-1", "Caudalímetro electromagnético FX-80", "Caudal", "Fluxa"),
    product("ES-BAL-1", "Balanza analítica BA-220", "Balanzas", "Metrika"),
    product("EN-PH-1", "Digital pH meter PH-10 with display", "pH", "Kelvix"),
    product("EN-DO-1", "Dissolved oxygen meter DO-5", "Dissolved oxygen", "Sentrix"),
    product("EN-MIX-1", "Magnetic stirrer MS-1 with hot plate", "Lab equipment", "Kelvix"),
]


@pytest.fixture
def bilingual(tenant_a, catalog_index):
    assert load(tenant_a, BILINGUAL).created == len(BILINGUAL)
    return tenant_a


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("turbidity meter", "ES-TUR-1"),
        ("electromagnetic flow meter", "ES-CAU-1"),
        ("scale", "ES-BAL-1"),
        ("oxímetro", "EN-DO-1"),
        ("medidor de oxígeno disuelto", "EN-DO-1"),
        ("agitador magnético", "EN-MIX-1"),
    ],
)
def test_a_query_in_one_language_finds_the_product_written_in_the_other(bilingual, query, expected):
    assert top(bilingual, query, mode="lexical")[0] == expected
    assert top(bilingual, query)[0] == expected


def test_without_the_glossary_those_queries_miss(bilingual, monkeypatch):
    """The control of the test above: the lexical ranking finds them through the glossary."""
    empty = TermGroups([])
    monkeypatch.setattr(lexical, "glossary", lambda: empty)
    monkeypatch.setattr(search_module, "glossary", lambda: empty)
    search_module._lexical_cache.clear()
    assert top(bilingual, "scale", mode="lexical")[:1] != ["ES-BAL-1"]
    assert top(bilingual, "oxímetro", mode="lexical")[:1] != ["EN-DO-1"]


SPECS = [
    product("TUR-A", "Turbidímetro portátil", "Turbidez", specs="Rango: 0-100 NTU"),
    product("TUR-B", "Turbidímetro portátil", "Turbidez", specs="Rango: 0-1.000 NTU"),
    product("TUR-C", "Turbidímetro portátil", "Turbidez", specs="Rango: 0 a 4.000 NTU"),
    product(
        "CON-A",
        "Conductímetro de mesa",
        "Conductividad",
        specs="Rango: 0-200 mS/cm<br>Resolución: 0,1 µS/cm",
    ),
    product(
        "CON-B",
        "Conductímetro de mesa",
        "Conductividad",
        specs="Rango: 0-2.000 µS/cm<br>Resolución: 0,01 µS/cm",
    ),
]


@pytest.fixture
def specs(tenant_a, catalog_index):
    assert load(tenant_a, SPECS).created == len(SPECS)
    return tenant_a


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("turbidímetro portátil hasta 2.000 NTU", "TUR-C"),  # only 0-4000 covers 2000
        ("turbidímetro portátil 0 a 1000 NTU", "TUR-B"),  # the exact range first
        ("turbidímetro para 50 NTU", "TUR-A"),  # the tightest range that covers it
        ("conductímetro 150 mS/cm", "CON-A"),  # 0-2000 µS/cm is only 2 mS/cm
        ("conductímetro 150000 µS/cm", "CON-A"),
        ("conductímetro hasta 1,5 mS/cm", "CON-B"),
        ("conductímetro con resolución 0,01 µS/cm", "CON-B"),
    ],
)
def test_products_whose_range_covers_the_asked_value_come_first(specs, query, expected):
    assert top(specs, query)[0] == expected
    assert top(specs, query, mode="lexical")[0] == expected


def test_a_range_that_falls_short_ranks_below_those_that_cover_it(specs):
    ranked = top(specs, "turbidímetro hasta 2000 NTU", mode="lexical")
    assert ranked.index("TUR-C") < ranked.index("TUR-B") and ranked.index("TUR-C") < ranked.index(
        "TUR-A"
    )


SKUS = [
    product("HI-98703", "Turbidímetro portátil", "Turbidez", "Hanna"),
    product(
        "HI-98703-11",
        "Kit de calibración HI98703 para turbidímetro HI98703",
        "Turbidez",
        "Hanna",
        description="<p>Patrones para HI98703. Compatible con HI98703 y HI 98703.</p>",
    ),
    product("HI-98703-01", "Cubetas para HI98703 (4 unidades)", "Turbidez", "Hanna"),
    product("PH-1/2.5", "Electrodo de pH 1/2.5", "Electrodos", "Hanna"),
]


@pytest.fixture
def skus(tenant_a, catalog_index):
    assert load(tenant_a, SKUS).created == len(SKUS)
    return tenant_a


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("HI-98703", "HI-98703"),
        ("hi98703", "HI-98703"),
        ("HI98703", "HI-98703"),
        ("hi 98703", "HI-98703"),
        ("¿tienen el hi98703?", "HI-98703"),
        ("precio del HI98703, por favor", "HI-98703"),
        ("hi9870301", "HI-98703-01"),
        ("HI-98703-11", "HI-98703-11"),
        ("ph125", "PH-1/2.5"),
    ],
)
def test_an_exact_sku_is_first_however_it_is_typed(skus, query, expected):
    hits = top(skus, query)
    assert hits[0] == expected


def test_the_products_of_a_model_come_before_the_rest(skus):
    hits = top(skus, "cubetas hi98703", k=4)
    assert hits[0] == "HI-98703"  # the query names this SKU
    assert hits[1] == "HI-98703-01"  # then the model's products, ordered by the rest of it
    assert set(hits[:3]) == {"HI-98703", "HI-98703-01", "HI-98703-11"}


SYNONYM_CATALOG = [
    product("TU-1", "Turbidímetro portátil TU-1", "Turbidez"),
    product("CO-1", "Conductímetro de mesa CO-1", "Conductividad"),
]


@pytest.fixture
def two_catalogs(tenant_a, tenant_b, catalog_index):
    assert load(tenant_a, SYNONYM_CATALOG).created == 2
    assert load(tenant_b, SYNONYM_CATALOG).created == 2
    return tenant_a, tenant_b


def test_a_tenants_synonyms_change_its_results_only_and_without_a_reindex(
    two_catalogs, monkeypatch
):
    tenant_a, tenant_b = two_catalogs

    def no_reindex(**kwargs):
        raise AssertionError("a synonym edit must not reindex")

    monkeypatch.setattr(catalog_index_module, "index_upsert", no_reindex)
    monkeypatch.setattr(catalog_index_module, "index_rebuild", no_reindex)
    before_b = {mode: top(tenant_b, "kyvbu portátil", mode=mode) for mode in ("fused", "lexical")}
    assert top(tenant_a, "kyvbu", mode="lexical") == []

    with tenant_scope(tenant_a):
        group = SynonymGroup.objects.create(tenant=tenant_a, terms="Kyvbu = turbidímetro")
    assert top(tenant_a, "kyvbu", mode="lexical") == ["TU-1"]
    assert top(tenant_a, "kyvbu")[0] == "TU-1"
    for mode, hits in before_b.items():
        assert top(tenant_b, "kyvbu portátil", mode=mode) == hits
    assert top(tenant_b, "kyvbu", mode="lexical") == []

    with tenant_scope(tenant_a):  # an edit takes effect at the next search
        group.terms = "kyvbu = conductímetro"
        group.save()
    assert top(tenant_a, "kyvbu", mode="lexical") == ["CO-1"]

    with tenant_scope(tenant_a):  # so does a deletion
        group.delete()
    assert top(tenant_a, "kyvbu", mode="lexical") == []


def test_inactive_synonym_groups_are_not_applied(two_catalogs):
    tenant_a, _ = two_catalogs
    with tenant_scope(tenant_a):
        SynonymGroup.objects.create(tenant=tenant_a, terms="kyvbu = turbidímetro", is_active=False)
    assert top(tenant_a, "kyvbu", mode="lexical") == []
