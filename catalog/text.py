"""Text normalisation shared by indexing and search: accent folding and tokens."""

from __future__ import annotations

import re
import unicodedata

_STOP_WORDS_TEXT = """a al an and con de del el en for i in is la las los me my necesito need of
on or para por que the to un una unos unas y with busco quiero want"""
STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())
_WORD = re.compile(r"[a-z0-9µ]+(?:[./][a-z0-9µ]+)*")


def fold(text: str) -> str:
    """Lower-case, strip accents (á→a, ñ→n), keep µ; for matching, never for display."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).replace("μ", "µ")


def words(text: str) -> list[str]:
    return [w for w in _WORD.findall(fold(text)) if w not in STOP_WORDS]


def tokens(text: str) -> list[str]:
    """Words, character trigrams of longer words (so typos still share most tokens), and
    quantities with their unit."""
    found = words(text)
    return [*found, *trigrams(found), *quantities(text)]


def trigrams(found_words: list[str]) -> list[str]:
    """Character trigrams of the words of five letters or more, marked with "~"."""
    return [
        f"~{word[i : i + 3]}"
        for word in found_words
        if len(word) >= 5 and word.isalpha()
        for i in range(len(word) - 2)
    ]


_UNITS = "ntu|fnu|mg/l|ppm|µs/cm|us/cm|ms/cm|mbar|bar|psi|kpa|mpa|°c|oc|ma|mv|v|nm|mm|cm|ml|l|m"
_QUANTITY = re.compile(rf"(?<!\w)(?<!\d[.,])(\d+(?:[.,]\d+)?)\s?({_UNITS})(?![a-z0-9µ/])")
_UNIT_ALIASES = {"us/cm": "µs/cm", "oc": "°c"}  # "uS/cm" typed without µ; "ºC" folds to "oc"


def quantities(text: str) -> list[str]:
    """Numbers with their unit as one token each, whatever the notation: "0-16 bar",
    "hasta 16 bar" and "0…16 bar" all give "16bar"; "2,5 bar" and "2.50 bar" give "2.5bar"."""
    out = []
    for number, unit in _QUANTITY.findall(fold(text)):
        whole, _, fraction = number.replace(",", ".").partition(".")
        if len(fraction) == 3 and whole != "0":  # 1.000 m: a thousands separator
            whole, fraction = whole + fraction, ""
        number = f"{whole}.{fraction.rstrip('0')}".rstrip(".")
        out.append(number + _UNIT_ALIASES.get(unit, unit))
    return out


_MODEL = re.compile(r"(?<![a-z0-9])([a-z]{1,6})[\s\-]?(\d{2,6}[a-z]{0,2})(?![a-z0-9])")


# Words that come before a number without naming a model: "0 a 20 NTU", "-50 to 250 °C",
# "hasta 16 bar", "4 y 10", "6 x 150 mm", "de 50 mm".
_NOT_MODEL = STOP_WORDS | {"to", "hasta", "up", "x", "de", "y", "max", "min"}


def model_keys(text: str) -> set[str]:
    """Model numbers such as "TU-5200", "tu 5200" or "PT100", as one comparable key each (not
    a range's "a 20" or "to 250")."""
    return {
        letters + digits
        for letters, digits in _MODEL.findall(fold(text))
        if letters not in _NOT_MODEL
    }


def sku_key(text: str) -> str:
    """A SKU or model number compared without case, spaces, dashes, dots or slashes."""
    return re.sub(r"[\s\-_./]+", "", fold(text))
