"""The fallback agent's texts: built-in defaults per language and formality, a tenant's own
wording checked and used, a broken stored text never reaching a customer. No database."""

from __future__ import annotations

import re

import pytest

from tenants.wording import (
    DEFAULTS,
    LANGUAGES,
    TEXTS,
    default_text,
    stored_key,
    tenant_text,
    wording_problems,
)


def test_every_key_has_a_default_in_every_language_and_formality():
    for texts in DEFAULTS.values():
        assert set(texts) == set(TEXTS)
        for key, text in texts.items():
            assert text.strip()
            assert wording_problems(stored_key("es", key), text) == [], key


def test_spanish_uses_usted_or_tu_as_the_tenant_chooses():
    formal = default_text(language="es", formality="formal", key="ask_contact")
    informal = default_text(language="es", formality="informal", key="ask_contact")
    assert "su nombre" in formal and "deja " in formal
    assert "tu nombre" in informal and "dejas " in informal
    # No "tú" forms in the formal texts, no "usted" forms in the informal ones.
    tu = re.compile(r"\b(tu|tú|te|contigo|buscas|necesitas|tienes|dímelo|cuéntame)\b")
    usted = re.compile(r"\b(su|le|usted|busca|necesita|tiene|cuénteme|indíquemelo)\b")
    for key in TEXTS:
        assert not tu.search(default_text(language="es", formality="formal", key=key)), key
        assert not usted.search(default_text(language="es", formality="informal", key=key)), key


def test_english_and_portuguese_have_one_wording():
    for language in ("en", "pt"):
        for key in TEXTS:
            assert default_text(language=language, formality="formal", key=key) == default_text(
                language=language, formality="informal", key=key
            )
    assert default_text(language="xx", formality="?", key="thanks").startswith("¡De nada")


def test_a_tenants_wording_replaces_the_default_in_its_language_only():
    wording = {"es.greeting": "¡Bienvenido a {tenant}! ¿Qué busca hoy?"}
    own = tenant_text(
        wording=wording, formality="formal", language="es", key="greeting", tenant="Acme"
    )
    assert own == "¡Bienvenido a Acme! ¿Qué busca hoy?"
    english = tenant_text(
        wording=wording, formality="formal", language="en", key="greeting", tenant="Acme"
    )
    assert english.startswith("Hello! I'm the virtual assistant of Acme")
    assert tenant_text(wording={}, formality="informal", language="es", key="thanks") == (
        "¡De nada! Si necesitas algo más, aquí estoy."
    )


@pytest.mark.parametrize(
    "stored",
    [
        "Gracias, {nombre}",  # unknown placeholder
        "Gracias, {name",  # unbalanced
        "Gracias, {0}",  # positional
        "Gracias, {name.__class__}",  # attribute access
        "x" * 700,  # too long
    ],
)
def test_a_broken_stored_text_falls_back_to_the_default(stored):
    wording = {"es.saved_named": stored}
    text = tenant_text(
        wording=wording,
        formality="formal",
        language="es",
        key="saved_named",
        name="Ana",
        fields="su e-mail a@b.co",
    )
    assert text == "Gracias, Ana: he guardado su e-mail a@b.co."


@pytest.mark.parametrize(
    ("stored", "text", "problem"),
    [
        ("es.greeting", "Hola desde {tenant}", None),
        ("en.saved_named", "Thanks {name}, got {fields}", None),
        ("es.greeting", "Literal {{braces}} are fine", None),
        ("es.nope", "Hola", "Unknown wording key"),
        ("fr.greeting", "Bonjour", "Unknown wording key"),
        (
            "es.greeting",
            "Hola {name}",
            "Unknown placeholder(s) {name}; this text may use: {tenant}",
        ),
        ("es.thanks", "De nada {tenant}", "this text may use: none"),
        ("es.field_email", "su correo", "Keep {email} in this text."),
        ("es.saved", "Hola {fields", "Unbalanced braces"),
        ("es.saved", "Hola {fields!r}", "without ':' or '!'"),
        ("es.saved", "Hola {0} {fields}", "is not a placeholder"),
    ],
)
def test_wording_problems(stored, text, problem):
    problems = wording_problems(stored, text)
    if problem is None:
        assert problems == []
    else:
        assert any(problem in p for p in problems), problems


def test_every_language_is_offered():
    assert set(LANGUAGES) == {"es", "en", "pt"}
