"""Search caches on a real catalog: results reused only while the catalog is unchanged,
never across tenants; query embeddings batched, cached per tenant and equal to the
model's own vectors."""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest
from django.utils import timezone

from catalog.caches import query_vectors, search_results
from catalog.index import embed
from catalog.models import Product
from catalog.queries import query_vector, query_vectors_async
from catalog.search import search
from catalog.services import product_save, products_soft_delete
from tenants.scoping import tenant_scope
from tests.factories.catalog import CATALOG, load

pytestmark = pytest.mark.django_db

OTHER = [
    {
        "sku": "ZZ-CL-1",
        "name": "Bomba dosificadora de cloro",
        "category": "Bombas",
        "description_html": "<p>Dosificación de cloro libre en piscinas y agua potable.</p>",
    }
]


def top(tenant, query, k=5, **kwargs):
    with tenant_scope(tenant):
        return [hit.sku for hit in search(tenant=tenant, query=query, k=k, **kwargs)]


@pytest.fixture
def catalog_a(tenant_a, catalog_index):
    assert load(tenant_a, CATALOG).created == len(CATALOG)
    return tenant_a


def test_a_repeated_search_is_answered_from_the_cache(catalog_a):
    first = top(catalog_a, "turbidímetro portátil")
    hits, embedded = search_results.hits, len(query_vectors)
    assert top(catalog_a, "turbidímetro portátil") == first
    assert search_results.hits == hits + 1
    assert len(query_vectors) == embedded  # nothing embedded again


def test_a_product_changed_through_the_catalog_services_is_searched_as_it_is_now(catalog_a):
    top(catalog_a, "QX-7781")  # cached
    assert top(catalog_a, "QX-7781", mode="lexical") == []
    with tenant_scope(catalog_a):
        product = Product.objects.get(sku="HL-PH-300")
        product.name = "Refractómetro QX-7781"
        product.description_html = "<p>Grados Brix de jugos y mieles.</p>"
        product_save(product=product)
    assert top(catalog_a, "QX-7781")[0] == "HL-PH-300"
    assert top(catalog_a, "QX-7781", mode="lexical")[0] == "HL-PH-300"

    with tenant_scope(catalog_a):
        products_soft_delete(tenant=catalog_a, products=[Product.objects.get(sku="HL-PH-300")])
    for mode in ("fused", "dense", "lexical"):
        assert "HL-PH-300" not in top(catalog_a, "QX-7781", k=10, mode=mode)


def test_a_change_written_by_another_process_is_seen_at_the_next_search(catalog_a):
    """Another process does not clear this process's cache: the catalog version read from
    the database for every search moves, so the cached hits are not used."""
    assert top(catalog_a, "turbidímetro portátil")[0] == "HL-TUR-5200"
    with tenant_scope(catalog_a):
        Product.objects.filter(sku="HL-TUR-5200").update(is_active=False, updated_at=timezone.now())
    assert "HL-TUR-5200" not in top(catalog_a, "turbidímetro portátil", k=7)


def test_one_tenants_cached_results_never_answer_another_tenant(catalog_a, tenant_b):
    load(tenant_b, OTHER)
    a_skus = {p["sku"] for p in CATALOG}
    for _ in range(2):  # the second round is answered from the caches
        for mode in ("fused", "dense", "lexical"):
            assert not set(top(tenant_b, "cloro libre en piscinas", k=10, mode=mode)) & a_skus
            assert "ZZ-CL-1" not in top(catalog_a, "cloro libre en piscinas", k=10, mode=mode)
    assert top(tenant_b, "cloro libre en piscinas") == ["ZZ-CL-1"]
    tenants = {key[0] for key in search_results._data}
    assert tenants == {catalog_a.pk, tenant_b.pk}
    vector_keys = [key for key in query_vectors._data if key[2] == "cloro libre en piscinas"]
    assert sorted(key[0] for key in vector_keys) == sorted([catalog_a.pk, tenant_b.pk])


def test_query_vectors_are_the_models_vectors_alone_or_batched(catalog_index):
    texts = [
        "turbidímetro portátil",
        "I need to measure dissolved oxygen in wastewater",
        "sonda de pH para laboratorio con compensación de temperatura",
        "HL-TUR-5200",
    ]
    expected = np.array(embed(texts), dtype=np.float32)
    alone = np.array([query_vector(tenant_id=1, text=text) for text in texts])
    np.testing.assert_allclose(alone, expected, atol=1e-5)

    async def together() -> list[np.ndarray]:
        parts = await asyncio.gather(
            *(query_vectors_async(tenant_id=2, texts=[text]) for text in texts)
        )
        return [vectors[0] for vectors in parts]

    np.testing.assert_allclose(np.array(asyncio.run(together())), expected, atol=1e-5)
    assert not query_vector(tenant_id=1, text=texts[0]).flags.writeable


def test_the_query_embedder_leaves_other_threads_torch_setting_alone(catalog_index):
    import torch

    before = torch.get_num_threads()
    query_vector(tenant_id=1, text="medidor de conductividad")
    assert torch.get_num_threads() == before
    seen = []
    thread = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
    thread.start()
    thread.join()
    assert seen == [before]
