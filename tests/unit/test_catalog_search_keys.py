"""How search reads SKUs, model numbers and misspelt words (issue 11, second pass)."""

from __future__ import annotations

import pytest

from catalog.glossary import glossary
from catalog.lexical import LexicalIndex, ProductFields, field_tokens
from catalog.search import sku_segment_keys
from catalog.text import model_keys


@pytest.mark.parametrize(
    ("sku", "expected"),
    [
        ("HC.2100Q.01", {"2100q", "hc2100q", "2100q01"}),
        ("HC.2659453", {"2659453"}),  # five digits and more: a model by itself
        ("HI-98703-11", {"98703", "hi98703", "9870311"}),
        ("7ME3710-1AA00", {"7me3710", "1aa00"}),
        ("LS-PIP-1000", {"pip1000"}),  # "1000" alone is a number, not a model
        ("SPX2201", set()),  # one segment: the SKU itself, found by the exact tier
    ],
)
def test_the_models_inside_a_sku_are_its_runs_of_segments(sku, expected):
    assert sku_segment_keys(sku) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Turbidímetro TU-5200", {"tu5200"}),
        ("sonda PT100 a 20 m", {"pt100"}),
        ("turbidímetro 0 a 20 NTU", set()),
        ("temperature transmitter -50 to 250 °C", set()),
        ("medidor hasta 16 bar", set()),
        ("sonda de 6 x 150 mm", set()),
    ],
)
def test_a_range_or_a_size_is_not_a_model_number(text, expected):
    assert model_keys(text) == expected


def index_of(*names: str) -> LexicalIndex:
    return LexicalIndex(
        [
            field_tokens(
                ProductFields(sku="", name=n, brand="", category="", specs="", description="")
            )
            for n in names
        ]
    )


def test_a_misspelt_word_is_corrected_but_a_glossary_word_is_not():
    index = index_of("Turbidímetro portátil", "Magnetic stirrer with hot plate")
    assert "turbidimetro" in index.corrections("turbidimetor")
    # "agitador" (a glossary term, here written in English only) is one letter away from
    # "agitadora", another glossary word: it is read as it is, so its group finds the stirrer.
    assert "agitadora" in glossary().words()
    assert index.corrections("agitador") == []
    assert index.corrections("stirer") == ["stirrer"]


def groups(text: str) -> set[int]:
    return {match.group for match in glossary().find(text)}


@pytest.mark.parametrize(
    ("spanish", "english"),
    [
        ("caudalímetro para vapor", "steam"),
        ("módulo de entradas analógicas", "analog input module"),
        ("vaina termométrica", "thermowell"),
        ("pirómetro", "infrared thermometer"),
        ("bomba peristáltica", "peristaltic pump"),
        ("incubadora refrigerada", "refrigerated incubator"),
        ("rampa de filtración", "filtration manifold"),
        ("interruptor de caudal", "flow switch"),
    ],
)
def test_the_glossary_knows_the_catalogs_product_types(spanish, english):
    assert groups(spanish) & groups(english)
