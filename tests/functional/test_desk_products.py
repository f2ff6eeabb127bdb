"""The products page: search by SKU, name, brand or category; active, category and brand
filters limited to the tenant's own values; reindexing for tenant admins only."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tenants.scoping import tenant_scope
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:catalog_product_changelist")


@pytest.fixture
def products(tenant_a, tenant_b):
    with tenant_scope(tenant_a):
        ph = ProductFactory(
            tenant=tenant_a, sku="PH-200", name="Medidor de pH", category="pH", brand="Hanna"
        )
        tu = ProductFactory(
            tenant=tenant_a, sku="TU-5200", name="Turbidímetro", category="Turbidez", brand="Hach"
        )
        old = ProductFactory(
            tenant=tenant_a, sku="OLD-1", name="Sonda vieja", category="pH", is_active=False
        )
    with tenant_scope(tenant_b):
        ProductFactory(tenant=tenant_b, sku="B-1", name="Ajeno", category="Secreta", brand="Otra")
    return {"ph": ph, "tu": tu, "old": old}


def _listed(client, query: str) -> set[str]:
    response = client.get(CHANGELIST + query)
    assert response.status_code == 200
    return {p.sku for p in response.context["cl"].result_list}


@pytest.mark.parametrize("member", ["owner", "teammate"])
def test_search_and_filters(client, request, member, products):
    client.force_login(request.getfixturevalue(member))
    assert _listed(client, "?q=PH-200") == {"PH-200"}
    assert _listed(client, "?q=turbid") == {"TU-5200"}
    assert _listed(client, "?q=hanna") == {"PH-200"}
    assert _listed(client, "?q=Turbidez") == {"TU-5200"}
    assert _listed(client, "?q=Ajeno") == set()
    assert _listed(client, "?is_active__exact=0") == {"OLD-1"}
    assert _listed(client, "?category=pH") == {"PH-200", "OLD-1"}
    assert _listed(client, "?brand=Hach") == {"TU-5200"}
    response = client.get(CHANGELIST)
    offered = {
        choice["display"]
        for spec in response.context["cl"].filter_specs
        for choice in spec.choices(response.context["cl"])
    }
    assert {"pH", "Turbidez", "Hanna", "Hach"} <= offered
    assert not {"Secreta", "Otra"} & offered  # another tenant's values are not offered


def test_reindex_is_offered_to_tenant_admins_only(client, owner, teammate, products):
    client.force_login(owner)
    actions = client.get(CHANGELIST).context["action_form"].fields["action"].choices
    assert "reindex_selected" in dict(actions)
    client.force_login(teammate)
    response = client.get(CHANGELIST)
    assert "action_form" not in response.context or response.context["action_form"] is None
