"""Quotes in a scripted conversation, for the agent's and the channels' end-to-end tests.

The customer asks for a quote; the fake LLM (``tests/fakes/openai_server.FakeLLM``) is
scripted to do what a model does: search the catalog, register the opportunity and call
``prepare_quote`` with SKUs and quantities only, then answer in text. The turn leaves a
draft quote whose lines and prices come from the catalog (:func:`draft_of`,
:func:`assert_matches_catalog`).

Use::

    load_priced_catalog(tenant)              # needs the catalog_index fixture
    script_quote_turn(fake_llm)              # 3 LLM calls: search, register + quote, text
    ... the customer writes QUOTE_REQUEST on the channel, the worker answers ...
    quote = draft_of(tenant, conversation)
    assert_matches_catalog(tenant, quote)    # lines == QUOTE_LINES, catalog prices, totals
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from catalog.models import Product
from crm.models import Conversation
from quotes.models import Quote
from tenants.models import Tenant
from tenants.scoping import tenant_scope
from tests.factories.catalog import load
from tests.factories.priced_catalog import PRICED

# What the customer asks, and what the scripted model quotes (SKUs of PRICED).
QUOTE_REQUEST = (
    "Hola, soy del laboratorio de Aguas del Valle. ¿Me envía un presupuesto de 2 medidores "
    "de pH de mesa PH-300 y 1 turbidímetro TU-5200?"
)
QUOTE_LINES: list[dict[str, Any]] = [
    {"sku": "PH-LAB-3", "quantity": 2},
    {"sku": "TUR-5200", "quantity": 1},
]
QUOTE_NEED = "Laboratorio de aguas: 2 medidores de pH de mesa y 1 turbidímetro para agua potable."
QUOTE_NOTES = "Laboratorio de Aguas del Valle"
QUOTE_REPLY = (
    "He preparado su presupuesto con los precios del catálogo; un comercial lo confirmará "
    "antes de enviárselo."
)


def load_priced_catalog(tenant: Tenant) -> None:
    """The priced test catalog, imported through the real path (database and index)."""
    summary = load(tenant, PRICED)
    assert summary.created == len(PRICED), summary


def script_quote_turn(
    fake_llm: Any,
    *,
    lines: list[dict[str, Any]] | None = None,
    notes: str = QUOTE_NOTES,
    query: str = "medidor de pH de mesa y turbidímetro",
    register: bool = True,
    reply: str = QUOTE_REPLY,
) -> None:
    """Script one agent turn: ``search_catalog``; ``register_opportunity`` (when
    ``register``) and ``prepare_quote`` in one step; then the text ``reply``."""
    fake_llm.tool_calls(("search_catalog", {"query": query}))
    arguments: dict[str, Any] = {"lines": lines if lines is not None else QUOTE_LINES}
    if notes:
        arguments["notes"] = notes
    calls: list[tuple[str, dict[str, Any]]] = []
    if register:
        calls.append(("register_opportunity", {"problem_statement": QUOTE_NEED}))
    calls.append(("prepare_quote", arguments))
    fake_llm.tool_calls(*calls)
    fake_llm.text(reply)


def draft_of(tenant: Tenant, conversation: Conversation | int) -> Quote:
    """The one quote of the conversation (whatever its status), its lines prefetched."""
    conversation_id = conversation if isinstance(conversation, int) else conversation.pk
    with tenant_scope(tenant):
        quotes = list(
            Quote.objects.filter(conversation_id=conversation_id).prefetch_related("lines")
        )
        assert len(quotes) == 1, f"expected one quote, found {len(quotes)}"
        return quotes[0]


def assert_matches_catalog(
    tenant: Tenant, quote: Quote, lines: list[dict[str, Any]] | None = None
) -> None:
    """The quote's lines are ``lines`` (SKU, quantity, in order) at the catalog's prices,
    and its totals add up (tax at the tenant's rate)."""
    wanted = lines if lines is not None else QUOTE_LINES
    with tenant_scope(tenant):
        got = list(quote.lines.all())
        prices = {
            p.sku: (p.price, p.currency, p.name)
            for p in Product.objects.filter(sku__in=[line["sku"] for line in wanted])
        }
    assert [(line.sku, line.quantity) for line in got] == [
        (line["sku"], line["quantity"]) for line in wanted
    ]
    subtotal = Decimal("0")
    for line in got:
        price, currency, name = prices[line.sku]
        assert (line.unit_price, line.name, quote.currency) == (price, name, currency)
        assert line.line_total == price * line.quantity
        subtotal += line.line_total
    assert quote.subtotal == subtotal
    assert quote.tax_rate == tenant.quote_tax_rate
    assert quote.total == quote.subtotal + quote.tax_amount
