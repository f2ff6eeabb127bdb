"""Field-aware lexical ranking: BM25F over a product's SKU, name, brand, category, specs and
description, in memory, with numpy.

Each field has a weight and a length normalisation of its own (a word in the name says more
than the same word in a long description); a term's frequencies in the fields are weighted,
normalised and added before BM25's saturation, so repeating a word across fields does not
add up the way it would if each field were scored apart (BM25F, Robertson et al. 2004).

Tokens per field (``field_tokens``): accent-folded words, quantities with their unit
("1000ntu"), the glossary's group tokens (``catalog.glossary``); character trigrams of the
longer words of the name and category (typos); SKU and model-number keys in the SKU and
name. The index is built once per catalog version (``catalog.search``) and answers a query
as a weighted set of tokens.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from catalog.glossary import glossary
from catalog.text import model_keys, quantities, sku_key, trigrams, words

FIELDS = ("sku", "name", "brand", "category", "specs", "description")
# Field weights and length normalisation (b); tuned on the generated set, see benchmarks/README.
FIELD_WEIGHTS = {
    "sku": 3.0,
    "name": 2.5,
    "brand": 1.5,
    "category": 2.0,
    "specs": 1.0,
    "description": 0.7,
}
FIELD_B = {
    "sku": 0.0,
    "name": 0.4,
    "brand": 0.0,
    "category": 0.3,
    "specs": 0.6,
    "description": 0.75,
}
K1 = 1.2
DESCRIPTION_CHARS = 3000
SPELLING_MIN = 5  # words shorter than this are not corrected (too many neighbours)


@dataclass(frozen=True)
class ProductFields:
    sku: str
    name: str
    brand: str
    category: str
    specs: str
    description: str


def field_tokens(fields: ProductFields) -> dict[str, list[str]]:
    """The tokens each field of a product is indexed with."""
    terms = glossary()
    out: dict[str, list[str]] = {
        "sku": [sku_key(fields.sku), *words(fields.sku), *model_keys(fields.sku)],
        "brand": words(fields.brand),
    }
    for name in ("name", "category", "specs", "description"):
        text = getattr(fields, name)
        if name == "description":
            text = text[:DESCRIPTION_CHARS]
        found = words(text)
        tokens = [*found, *quantities(text)]
        tokens += [terms.token(m.group) for m in terms.find_in_words(found)]
        if name in ("name", "category"):
            tokens += trigrams(found)
        if name == "name":
            tokens += model_keys(text)
        out[name] = tokens
    return out


class LexicalIndex:
    """BM25F scores of a fixed set of products, one row per product (its position)."""

    def __init__(self, documents: Sequence[Mapping[str, Sequence[str]]]) -> None:
        self.size = len(documents)
        averages = {
            f: max(1.0, sum(len(d.get(f, ())) for d in documents) / max(1, self.size))
            for f in FIELDS
        }
        vocabulary: dict[str, int] = {}
        term_ids: list[int] = []
        positions: list[int] = []
        values: list[float] = []
        for position, document in enumerate(documents):
            weighted: dict[str, float] = {}
            for f in FIELDS:
                tokens = document.get(f, ())
                if not tokens:
                    continue
                b = FIELD_B[f]
                norm = FIELD_WEIGHTS[f] / (1 - b + b * len(tokens) / averages[f])
                for token, count in Counter(tokens).items():
                    weighted[token] = weighted.get(token, 0.0) + count * norm
            for token, tf in weighted.items():
                term_ids.append(vocabulary.setdefault(token, len(vocabulary)))
                positions.append(position)
                values.append(tf)
        ids = np.array(term_ids, dtype=np.int64)
        order = np.argsort(ids, kind="stable")
        self.positions = np.array(positions, dtype=np.int32)[order]
        frequencies = np.array(values, dtype=np.float64)[order]
        counts = np.bincount(ids, minlength=len(vocabulary))
        self.starts = np.concatenate([[0], np.cumsum(counts)])
        idf = np.log1p((self.size - counts + 0.5) / (counts + 0.5))
        # Saturated and idf-weighted once: a query only adds rows up.
        saturated = frequencies * (K1 + 1) / (K1 + frequencies)
        self.values = (np.repeat(idf, counts) * saturated).astype(np.float32)
        self.vocabulary = vocabulary
        # Spelling: every word of the catalog (and of the glossary) under each of its
        # one-letter deletions, so a typed word one edit away (a letter missing, extra,
        # wrong, or two swapped) finds it (symmetric deletion, as in SymSpell).
        self._deletions: dict[str, list[str]] = {}
        known = [w for w in vocabulary if len(w) >= SPELLING_MIN and w.isalpha()]
        self._glossary_words = frozenset(glossary().words())
        for word in dict.fromkeys([*known, *self._glossary_words]):
            for variant in _deletions(word):
                self._deletions.setdefault(variant, []).append(word)

    def corrections(self, word: str) -> list[str]:
        """Known words one edit away from ``word``, when ``word`` itself is unknown (neither in
        the catalog nor in the glossary: "agitador" is not corrected to "agitadora")."""
        if (
            len(word) < SPELLING_MIN
            or not word.isalpha()
            or word in self.vocabulary
            or word in self._glossary_words
        ):
            return []
        found: dict[str, None] = {}
        for variant in [word, *_deletions(word)]:
            for known in self._deletions.get(variant, ()):
                if known != word and _one_edit(word, known):
                    found[known] = None
        return list(found)[:3]

    def scores(self, terms: Mapping[str, float]) -> np.ndarray:
        """Per product, the sum over the query's terms of weight x BM25F score."""
        out = np.zeros(self.size, dtype=np.float32)
        for term, weight in terms.items():
            term_id = self.vocabulary.get(term)
            if term_id is None or weight == 0:
                continue
            start, end = self.starts[term_id], self.starts[term_id + 1]
            out[self.positions[start:end]] += np.float32(weight) * self.values[start:end]
        return out

    def document_frequency(self, term: str) -> int:
        term_id = self.vocabulary.get(term)
        return 0 if term_id is None else int(self.starts[term_id + 1] - self.starts[term_id])


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def _one_edit(a: str, b: str) -> bool:
    """Whether ``b`` is ``a`` with one letter dropped, added, changed, or two adjacent ones
    swapped."""
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]]
        )
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))
