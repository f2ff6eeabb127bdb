"""Reading a request for a quote without an LLM: "presupuesto" and "orçamento" are a quote
only after a verb of asking; otherwise they name a budget, as before."""

from __future__ import annotations

from decimal import Decimal

import pytest

from agent.fallback_intents import read_message, read_messages


@pytest.mark.parametrize(
    "text",
    [
        "¿Me envía un presupuesto de 2 medidores de pH de mesa PH-300?",
        "Necesito presupuesto para 2 equipos",
        "¿Me puede hacer un presupuesto?",
        "Quiero una cotización de 3 PH-300",
        "Cotícenme 5 sondas",
        "Can you send me a quote for 2 pH meters?",
        "We need a quotation",
        "Quisiera pedir um orçamento de 2 medidores",
    ],
)
def test_a_request_for_a_quote(text):
    reading = read_message(text)
    assert reading.wants_quote
    assert reading.budget is None  # "un presupuesto de 2 medidores": 2 is no budget


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("Mi presupuesto es de 3000 euros", Decimal("3000")),
        ("Tengo un presupuesto de 3000", Decimal("3000")),
        ("Necesito un medidor con un presupuesto de 2000", Decimal("2000")),
        ("hasta 5000 EUR de presupuesto", Decimal("5000")),
    ],
)
def test_a_budget_is_not_a_quote(text, amount):
    reading = read_message(text)
    assert not reading.wants_quote
    assert reading.budget is not None and reading.budget.amount == amount


def test_a_quote_request_keeps_a_budget_with_a_currency_and_its_need():
    reading = read_message("Envíeme un presupuesto de 2 medidores de pH, máximo 4.000 €")
    assert reading.wants_quote and reading.budget is not None
    assert reading.budget.amount == Decimal("4000") and reading.budget.currency == "EUR"
    assert reading.needs


def test_a_burst_asks_for_a_quote_when_one_message_does():
    assert read_messages(["Hola", "¿Me manda una cotización?"]).wants_quote
    assert not read_messages(["Hola", "Necesito un medidor de pH"]).wants_quote
