"""The ES↔EN glossary and the term groups that tenants' synonyms use."""

from __future__ import annotations

import pytest

from catalog.glossary import TermGroups, glossary, parse_groups, stem
from catalog.lexical import LexicalIndex, ProductFields, field_tokens


def groups(text: str) -> set[int]:
    return {match.group for match in glossary().find(text)}


@pytest.mark.parametrize(
    ("spanish", "english"),
    [
        ("Turbidímetro portátil", "turbidity meter"),
        ("conductivímetro", "conductivity meter"),
        ("Medidor de oxígeno disuelto", "dissolved oxygen meter"),
        ("oxígeno disuelto", "dissolved oxygen"),
        ("pHmetro", "pH meter"),
        ("sondas", "probe"),
        ("Electrodos de pH", "pH electrodes"),
        ("balanza", "scale"),
        ("caudalímetro", "flow meter"),
        ("Transmisor de presión", "pressure transmitter"),
        ("aguas residuales", "wastewater"),
        ("solución tampón", "buffer solution"),
    ],
)
def test_a_spanish_term_and_its_english_term_share_a_group(spanish, english):
    assert groups(spanish) & groups(english)


def test_unrelated_terms_share_no_specific_group():
    assert not groups("turbidímetro") & groups("conductivity meter")
    assert not groups("do you have it in stock?")  # "do" is not dissolved oxygen


def test_plurals_and_accents_do_not_matter():
    assert stem("medidores") == stem("medidor") and stem("electrodes") == stem("electrode")
    assert groups("TURBIDIMETROS") == groups("turbidímetro")


def test_the_glossary_has_a_few_hundred_groups():
    assert len(glossary()) >= 250


def test_term_groups_from_tenant_text():
    parsed = parse_groups("pHmetro = medidor de pH = pH meter\n# comment\nZX-9, zentrox\n")
    assert parsed == [["pHmetro", "medidor de pH", "pH meter"], ["ZX-9", "zentrox"]]
    terms = TermGroups(parsed, prefix="@s")
    words = ["zentrox", "portatil"]
    (match,) = terms.find_in_words(words)
    assert terms.other_words(match, words) == ["zx", "9"]


def test_an_english_query_scores_the_spanish_product_through_the_glossary():
    spanish = ProductFields("A-1", "Turbidímetro portátil", "Hidrolab", "Turbidez", "", "")
    other = ProductFields("B-2", "Conductímetro de mesa", "Hidrolab", "Conductividad", "", "")
    index = LexicalIndex([field_tokens(spanish), field_tokens(other)])
    query = {glossary().token(g): 1.0 for g in groups("turbidity meter")}
    scores = index.scores(query)
    assert scores[0] > 0 and scores[1] == 0


def test_a_field_counts_more_in_the_name_than_in_the_description():
    named = ProductFields("A-1", "Sonda de nivel", "", "", "", "")
    described = ProductFields("B-2", "Accesorio", "", "", "", "Sonda de nivel de repuesto")
    index = LexicalIndex([field_tokens(named), field_tokens(described)])
    scores = index.scores({"sonda": 1.0})
    assert scores[0] > scores[1] > 0
