"""Groups of terms that mean the same: the ES↔EN domain glossary and tenants' synonyms.

A :class:`TermGroups` finds its phrases in a text's words (folded, stop words out, a
plural "s"/"es" ignored), longest first at each position, overlaps allowed:
"medidor de pH portátil" holds "medidor de pH" and "medidor", "pH meter" holds "pH meter"
and "meter".

- The glossary (``catalog/data/glossary_es_en.txt``, :func:`glossary`) is applied on both
  sides: each group found in a product's field adds the group's token (``@g12``) to that
  field in the lexical index, and each group found in a query adds the same token to the
  query, so "turbidity meter" finds "Turbidímetro" and "pHmetro" finds "pH meter".
- A tenant's synonyms (``catalog.synonyms``) are applied to the query only, so an edit
  takes effect on the next search without reindexing: the words of a group's other terms
  are added to the query.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from catalog.text import words

GLOSSARY_PATH = Path(__file__).parent / "data" / "glossary_es_en.txt"


def stem(word: str) -> str:
    """One form for a word's singular and plural, for matching terms only: "sondas" and
    "sonda" -> "sonda", "medidores" and "medidor" -> "medidor", "electrodes" and
    "electrode" -> "electrod" (a final "e" after r, l, n, d or z goes, in both)."""
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if len(word) > 5 and word.endswith("e") and word[-2] in "rlndz":
        word = word[:-1]
    return word


def phrase_key(text: str) -> tuple[str, ...]:
    return tuple(stem(w) for w in words(text))


@dataclass(frozen=True)
class Match:
    group: int
    start: int  # first word of the match in the words searched
    end: int


class TermGroups:
    """Phrases grouped by meaning; finds the groups a text names."""

    def __init__(self, groups: Iterable[Sequence[str]], prefix: str = "@g") -> None:
        self.prefix = prefix
        # Per group, its terms' keys and each key's words (a term written twice is kept once).
        self.keys: list[dict[tuple[str, ...], list[str]]] = []
        self._phrases: dict[tuple[str, ...], list[int]] = {}
        for terms in groups:
            keys: dict[tuple[str, ...], list[str]] = {}
            for term in terms:
                key = phrase_key(term)
                if key and key not in keys:
                    keys[key] = words(term)
            if not keys:
                continue
            number = len(self.keys)
            self.keys.append(keys)
            for key in keys:
                self._phrases.setdefault(key, []).append(number)
        self._longest = max((len(k) for k in self._phrases), default=0)
        self._firsts = {k[0] for k in self._phrases}

    def __len__(self) -> int:
        return len(self.keys)

    def words(self) -> list[str]:
        """Every word of every term."""
        return list(dict.fromkeys(w for keys in self.keys for ws in keys.values() for w in ws))

    def token(self, group: int) -> str:
        return f"{self.prefix}{group}"

    def find_in_words(self, found_words: Sequence[str]) -> list[Match]:
        stems = [stem(w) for w in found_words]
        out: list[Match] = []
        for start, first in enumerate(stems):
            if first not in self._firsts:
                continue
            for length in range(min(self._longest, len(stems) - start), 0, -1):
                for group in self._phrases.get(tuple(stems[start : start + length]), ()):
                    out.append(Match(group, start, start + length))
        return out

    def find(self, text: str) -> list[Match]:
        return self.find_in_words(words(text))

    def tokens(self, text: str) -> list[str]:
        """One token per group named in ``text`` (as many times as it is named)."""
        return [self.token(m.group) for m in self.find(text)]

    def other_words(self, match: Match, found_words: Sequence[str]) -> list[str]:
        """The words of the group's other terms than the one matched."""
        said = tuple(stem(w) for w in found_words[match.start : match.end])
        out: list[str] = []
        for key, term_words in self.keys[match.group].items():
            if key != said:
                out.extend(w for w in term_words if w not in out)
        return out


def parse_groups(text: str) -> list[list[str]]:
    """Groups written one per line, terms separated by "=" (or commas); "#" starts a comment."""
    groups = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        separator = "=" if "=" in line else ","
        terms = [t.strip() for t in line.split(separator) if t.strip()]
        if len(terms) >= 1:
            groups.append(terms)
    return groups


@cache
def glossary() -> TermGroups:
    """The ES↔EN domain glossary, read once per process."""
    return TermGroups(parse_groups(GLOSSARY_PATH.read_text(encoding="utf-8")), prefix="@g")
