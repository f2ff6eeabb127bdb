"""Which products the fallback lists and recommends for a budget: never one above it, the
ones within it first, an incomparable price only when nothing known to fit is left; the
far less relevant left out. Unsaved products: no database."""

from __future__ import annotations

from decimal import Decimal

from agent.fallback import rank_products
from agent.fallback_intents import Budget
from catalog.models import Product


def product(pk: int, price: str | None, currency: str = "EUR") -> Product:
    return Product(
        pk=pk,
        sku=f"P{pk}",
        name=f"P{pk}",
        price=Decimal(price) if price else None,
        currency=currency,
    )


def skus(products: list[Product]) -> list[str]:
    return [p.sku for p in products]


EUR_3000 = Budget(amount=Decimal(3000), currency="EUR")


def test_without_a_budget_the_best_three_in_search_order():
    found = [product(i, "10") for i in range(1, 6)]
    ranked = rank_products(found, None)
    assert skus(ranked.listed) == skus(ranked.recommended) == ["P1", "P2", "P3"]
    assert ranked.intro == "products"
    assert rank_products([], None).intro == "no_products"


def test_above_the_budget_is_never_listed_first_or_at_all():
    found = [product(1, "3450"), product(2, "1890"), product(3, None), product(4, "95")]
    ranked = rank_products(found, EUR_3000)
    assert skus(ranked.listed) == ["P2", "P4"]  # within; the unpriced one is not claimed to fit
    assert skus(ranked.recommended) == ["P2", "P4"]
    assert ranked.intro == "products_in_budget"


def test_near_par_currencies_are_compared_at_face_value_others_not():
    found = [
        product(1, "3450", "USD"),  # above 3,000 EUR at face value
        product(2, "2990", "USD"),
        product(3, "50000", "MXN"),  # not comparable
    ]
    ranked = rank_products(found, EUR_3000)
    assert skus(ranked.listed) == ["P2"]
    only_other = rank_products([product(1, "3450", "USD"), product(3, "50000", "MXN")], EUR_3000)
    assert skus(only_other.listed) == ["P3"] and only_other.recommended == []
    assert only_other.intro == "products_unpriced"


def test_a_budget_without_a_currency_takes_the_products():
    ranked = rank_products(
        [product(1, "3450", "USD"), product(2, "900", "USD")], Budget(Decimal(1000))
    )
    assert skus(ranked.listed) == ["P2"]


def test_nothing_fits():
    ranked = rank_products([product(1, "3450"), product(2, "5000")], EUR_3000)
    assert ranked.listed == ranked.recommended == []
    assert ranked.intro == "no_products_in_budget"


def test_the_far_less_relevant_are_left_out_and_the_most_relevant_come_first():
    found = [product(1, "10"), product(2, "10"), product(3, "10")]
    ranked = rank_products(found, None, {1: 0.3, 2: 1.0, 3: 0.8})
    assert skus(ranked.listed) == ["P2", "P3"]
