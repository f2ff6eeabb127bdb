"""What the fallback agent reads in a customer's message without an LLM, in Spanish and
English (and a little Portuguese): pure logic, no database."""

from __future__ import annotations

from decimal import Decimal

import pytest

from agent.fallback_intents import (
    Budget,
    find_budget,
    find_emails,
    find_name,
    find_phones,
    read_message,
    read_messages,
)

# Name -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Me llamo Ana Pérez", "Ana Pérez"),
        ("me llamo ana pérez y necesito un medidor", "Ana Pérez"),
        ("Hola, soy Ana", "Ana"),
        ("Soy Ana de Aguas del Valle", "Ana"),
        ("Mi nombre es María José García López", "María José García"),  # three words at most
        ("Me llamo Ana Pérez, mi e-mail es ana@x.com", "Ana Pérez"),
        ("My name is John Smith", "John Smith"),
        ("my name is john smith and I need a sensor", "John Smith"),
        ("I'm John", "John"),
        ("Hi, I am Mary O'Brien from Acme", "Mary O'Brien"),
        ("This is Peter", "Peter"),
        ("Meu nome é João Silva", "João Silva"),
    ],
)
def test_a_name_the_customer_gives(text, name):
    assert find_name(text) == name
    assert read_message(text).name == name


@pytest.mark.parametrize(
    "text",
    [
        "soy ingeniero de procesos",
        "Soy de Madrid",
        "soy el responsable del laboratorio",
        "I'm looking for a turbidity meter",
        "I am interested in your pH meters",
        "I'm Interested",
        "Necesito un medidor de pH",
        "Ana Pérez",  # a bare name: not said to be one
    ],
)
def test_no_name_where_none_is_given(text):
    assert find_name(text) == ""


# E-mail and phone -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "email"),
    [
        ("mi e-mail es Ana.Perez@Example.com.", "ana.perez@example.com"),
        ("escríbame a ventas+lab@aguas-del-valle.es, gracias", "ventas+lab@aguas-del-valle.es"),
        ("my email: john@example.co.uk", "john@example.co.uk"),
    ],
)
def test_an_email(text, email):
    assert find_emails(text) == [email]
    assert read_message(text).email == email


def test_not_an_email():
    assert find_emails("escriba a ventas@ o a @empresa") == []


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        ("mi teléfono es 612 34 56 78", "612345678"),
        ("móvil: 699-123-456", "699123456"),
        ("Llámeme al 912345678", "912345678"),
        ("+34 612 345 678", "+34612345678"),
        ("0034 612345678", "+34612345678"),
        ("call me at +1 (555) 123-4567", "+15551234567"),
        ("my number is (555) 123-4567", "5551234567"),
        ("+44 20 7946 0958", "+442079460958"),
        ("teléfono 93.123.45.67", "931234567"),
    ],
)
def test_a_phone(text, phone):
    assert find_phones(text) == [phone]
    assert read_message(text).phone == phone


@pytest.mark.parametrize(
    "text",
    [
        "presupuesto de 3.000.000 EUR",
        "necesito medir de 0-1000 NTU",
        "sensor de 4-20 mA, 0 a 16 bar",
        "el modelo TU-5200 del pedido 2026-12-05",
        "resolución 0,001 pH",
        "pedido 123456789",  # nine digits from 1, no phone word: an order number
        "1234567890123456789",  # too long
    ],
)
def test_not_a_phone(text):
    assert find_phones(text) == []


# Budget ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "amount", "currency"),
    [
        ("con un presupuesto de 3.000 EUR", "3000", "EUR"),
        ("3000 €", "3000", "EUR"),
        ("hasta 2.500 euros", "2500", "EUR"),
        ("tenemos 1.250,50 € como máximo", "1250.50", "EUR"),
        ("presupuesto 3000", "3000", ""),
        ("unos 5 mil euros", "5000", "EUR"),
        ("my budget is under $5,000", "5000", "USD"),
        ("up to 2,500.75 USD", "2500.75", "USD"),
        ("5k€ max", "5000", "EUR"),
        ("around £800", "800", "GBP"),
        ("orçamento de R$ 10.000", "10000", "BRL"),
        ("entre 2.000 y 3.000 €", "3000", "EUR"),  # a range: its top
    ],
)
def test_a_budget(text, amount, currency):
    assert find_budget(text) == Budget(amount=Decimal(amount), currency=currency)


@pytest.mark.parametrize(
    "text",
    [
        "hasta 1000 NTU",
        "under 200 mS/cm",
        "necesito 3 sondas",
        "el modelo PH-300",
        "mi teléfono es 612345678",
    ],
)
def test_not_a_budget(text):
    assert find_budget(text) is None


def test_a_budget_is_shown_in_the_customers_notation():
    budget = Budget(amount=Decimal("3000"), currency="EUR")
    assert budget.display("es") == "3.000 EUR"
    assert budget.display("en") == "3,000 EUR"
    assert Budget(amount=Decimal("1250.5"), currency="USD").display("es") == "1.250,50 USD"
    assert Budget(amount=Decimal("95")).display("en") == "95"


# A person, greetings, thanks -------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "¿Puedo hablar con una persona?",
        "quiero hablar con un comercial",
        "Quiero hablar con un agente",
        "quiero hablar con un humano",
        "¿Me pasa con un asesor?",
        "páseme con alguien, por favor",
        "que me llame un comercial",
        "Llámeme, por favor",
        "Can I talk to a human?",
        "I want to talk to a person",
        "I'd like to speak with a sales rep",
        "please call me",
        "I want a real person",
    ],
)
def test_a_request_for_a_person(text):
    reading = read_message(text)
    assert reading.wants_human
    assert reading.needs == []  # nothing else to look up in the catalog


@pytest.mark.parametrize(
    "text",
    [
        "Necesito un medidor de pH",
        "me llamo Ana",
        "¿Qué persona de su equipo mide la turbidez?",
        "the sensor talks to the PLC over Modbus",
    ],
)
def test_not_a_request_for_a_person(text):
    assert not read_message(text).wants_human


@pytest.mark.parametrize(
    ("text", "greeting", "thanks"),
    [
        ("Hola", True, False),
        ("¡Buenas tardes!", True, False),
        ("Buenos días, ¿qué tal?", True, False),
        ("Hello!", True, False),
        ("Hi there", True, False),
        ("Good morning", True, False),
        ("Gracias", False, True),
        ("¡Muchas gracias!", False, True),
        ("Perfecto, gracias", False, True),
        ("Thanks a lot!", False, True),
        ("thank you", False, True),
    ],
)
def test_greetings_and_thanks_are_not_needs(text, greeting, thanks):
    reading = read_message(text)
    assert (reading.greeting, reading.thanks) == (greeting, thanks)
    assert reading.needs == []


@pytest.mark.parametrize(
    "text",
    [
        "Hola, necesito un medidor de pH",
        "Necesito un medidor de pH para el laboratorio, con un presupuesto de 3.000 EUR",
        "I need a pH meter for the lab, my budget is under $5,000",
        "turbidímetro",
        "PH-300",
        "Me llamo Ana y busco un turbidímetro",
    ],
)
def test_a_need(text):
    assert read_message(text).needs == [" ".join(text.split())]


@pytest.mark.parametrize(
    "text",
    [
        "Me llamo Ana Pérez y mi e-mail es ana@example.com",
        "My name is John Smith, my e-mail is john@example.com",
        "mi teléfono es 612 34 56 78",
        "mi presupuesto es de 3000 €",
        "presupuesto 3000",
        "ok",
        "¿?",
    ],
)
def test_not_a_need(text):
    assert read_message(text).needs == []


def test_a_burst_is_read_as_one():
    reading = read_messages(
        [
            "hola",
            "necesito un medidor de pH",
            "para laboratorio",
            "me llamo Ana",
            "mi correo es ana@example.com",
            "presupuesto 2.000 €",
            "mejor hasta 3.000 €",
            "quiero hablar con una persona",
        ]
    )
    assert reading.name == "Ana" and reading.email == "ana@example.com"
    assert reading.budget == Budget(amount=Decimal(3000), currency="EUR")  # the latest
    assert reading.wants_human and reading.greeting
    assert reading.needs == ["necesito un medidor de pH", "para laboratorio"]
