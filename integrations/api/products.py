"""The catalog's products (list, get) and its search (the agent's own, ``catalog.search``)."""

from __future__ import annotations

from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Router
from pydantic import Field

from catalog.models import Product
from catalog.search import search
from integrations.api.auth import request_account
from integrations.api.pagination import Cursor, Limit, UpdatedSince, page
from integrations.api.problems import ApiProblem
from integrations.api.schemas import ProductOut, ProductPage, RowId, SearchResults

router = Router(tags=["products"])

SearchQuery = Annotated[
    str, Field(min_length=1, max_length=500, description="What the customer needs, or a SKU.")
]
SearchLimit = Annotated[int, Field(ge=1, le=50)]


@router.get("/products", response=ProductPage, summary="List products")
def products_list(
    request: HttpRequest,
    limit: Limit = 50,
    cursor: Cursor | None = None,
    updated_since: UpdatedSince | None = None,
) -> dict[str, Any]:
    """Every product of the catalog, active or not (``is_active``)."""
    tenant = request_account(request).tenant
    rows, next_cursor, has_more = page(
        Product.objects.filter(tenant=tenant),
        limit=limit,
        cursor=cursor,
        updated_since=updated_since,
    )
    return {"items": rows, "next_cursor": next_cursor, "has_more": has_more}


@router.get("/products/search", response=SearchResults, summary="Search the catalog")
def products_search(request: HttpRequest, q: SearchQuery, limit: SearchLimit = 10) -> Any:
    """The active products that best answer ``q``, best first: the search the agent uses
    (words, synonyms, specs and meaning, SKUs and models)."""
    tenant = request_account(request).tenant
    hits = search(tenant=tenant, query=q, k=limit)
    products = Product.objects.filter(tenant=tenant).in_bulk([hit.product_id for hit in hits])
    return {
        "items": [
            {"score": hit.score, "product": products[hit.product_id]}
            for hit in hits
            if hit.product_id in products
        ]
    }


@router.get("/products/{product_id}", response=ProductOut, summary="Get a product")
def products_get(request: HttpRequest, product_id: RowId) -> Any:
    tenant = request_account(request).tenant
    product = Product.objects.filter(tenant=tenant, pk=product_id).first()
    if product is None:
        raise ApiProblem(404, "no such product in this tenant")
    return product
