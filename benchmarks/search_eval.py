"""Labelled search evaluation: recall@5 and MRR@10 of dense, lexical and fused search.

The queries are written from the generated catalog's own attributes (a product's SKU, model,
variant, applications, range, output, features), and the relevant products of a query are all
the products whose attributes satisfy what the query asks for, decided from the data alone;
search results play no part in the labels. Categories: SKU lookups (exact, lower-case, without
dashes, inside a sentence), model numbers, Spanish needs (with accents, the same needs without
accents, the same needs with typos), English needs, specs (ranges and units) and synonyms (the
query names the product with a word the catalog does not use for it).

Metrics, per query, averaged: recall@5 = relevant products in the top 5 / min(5, relevant
products), so a query with many equally relevant products can score 1; MRR@10 = 1 / rank of
the first relevant product in the top 10, 0 when none.

    python -m benchmarks.search_eval [--products 2000] [--dump queries.json] [--misses]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from benchmarks import harness
from benchmarks.catalog_data import (
    APPS,
    CONSUMABLES,
    FAMILIES,
    OUTPUTS,
    Family,
    Item,
    Product,
    Range,
    Text,
    generate,
    to_csv,
)

CATEGORIES = {
    "sku_exact": 15,
    "sku_lower": 15,
    "sku_nodash": 15,
    "sku_sentence": 15,
    "model": 20,
    "es_accents": 25,
    "es_plain": 25,  # the es_accents needs without accents
    "es_typos": 25,  # the es_accents needs with typos
    "english": 25,
    "specs": 25,
    "synonyms": 25,
}
MODES = ("dense", "lexical", "fused")
TEMPERATURE_SENSOR = Text("sensor de temperatura", "temperature sensor")
ITEMS: dict[str, Item] = {item.key: item for group in CONSUMABLES for item in group.items}
# "salida 4-20 mA" is met by every output that carries 4-20 mA.
OUTPUT_GROUPS = {
    "4-20mA": frozenset({"4-20mA", "hart", "pulse"}),
    "hart": frozenset({"hart"}),
    "0-10V": frozenset({"0-10V"}),
    "modbus": frozenset({"modbus"}),
    "pulse": frozenset({"pulse"}),
}


@dataclass(frozen=True)
class Need:
    """What a query asks for, as constraints on the products' attributes."""

    family: str
    variants: frozenset[str] = frozenset()
    app: str = ""
    range: Range | None = None
    outputs: frozenset[str] = frozenset()
    has_output: bool | None = None
    features: tuple[tuple[str, str], ...] = ()
    compatible: str = ""

    def matches(self, product: Product) -> bool:
        return (
            product.family == self.family
            and (not self.variants or product.variant in self.variants)
            and (not self.app or self.app in product.apps)
            and (self.range is None or product.range == self.range)
            and (not self.outputs or product.output in self.outputs)
            and (self.has_output is None or bool(product.output) == self.has_output)
            and all(product.feature(key) == value for key, value in self.features)
            and (not self.compatible or self.compatible in product.compatible)
        )


@dataclass(frozen=True)
class LabelledQuery:
    category: str
    text: str
    relevant: tuple[str, ...]  # SKUs


@dataclass
class _Builder:
    products: list[Product]
    rng: random.Random
    seen: set[tuple[str, str]] = field(default_factory=set)

    def relevant(self, need: Need) -> tuple[str, ...]:
        return tuple(sorted(p.sku for p in self.products if need.matches(p)))

    def add(self, out: list[LabelledQuery], category: str, text: str, relevant) -> bool:
        text = " ".join(text.split())
        if (category, text.casefold()) in self.seen or not relevant:
            return False
        self.seen.add((category, text.casefold()))
        out.append(LabelledQuery(category, text, tuple(relevant)))
        return True

    def seeds(self, predicate: Callable[[Product], bool] = lambda p: True) -> Iterator[Product]:
        """Products in a seeded order, families taking turns so that all are covered."""
        by_family: dict[str, list[Product]] = {}
        for product in self.products:
            if predicate(product):
                by_family.setdefault(product.family, []).append(product)
        for group in by_family.values():
            self.rng.shuffle(group)
        families = sorted(by_family)
        self.rng.shuffle(families)
        while any(by_family.values()):
            for family in families:
                if by_family[family]:
                    yield by_family[family].pop()


def build_queries(products: list[Product], seed: int = 7, scale: int = 1) -> list[LabelledQuery]:
    """The labelled set over ``products``: ``scale`` times the counts in ``CATEGORIES``."""
    builder = _Builder(products=products, rng=random.Random(seed))
    counts = {category: count * scale for category, count in CATEGORIES.items()}
    out: list[LabelledQuery] = []
    out += _sku_queries(builder, counts)
    out += _model_queries(builder, counts["model"])
    out += _spanish_queries(builder, counts["es_accents"])
    out += _english_queries(builder, counts["english"])
    out += _spec_queries(builder, counts["specs"])
    out += _synonym_queries(builder, counts["synonyms"])
    return out


# --- SKUs and models ----------------------------------------------------------------------------

SKU_SENTENCES = (
    "¿tienen stock del {sku}?",
    "precio del {sku} por favor",
    "me interesa el {sku} que vi en su web",
    "cotización de 3 unidades de {sku}",
    "do you have {sku} in stock?",
    "quote for 2 x {sku} please",
)


def _sku_queries(b: _Builder, counts: dict[str, int]) -> list[LabelledQuery]:
    out: list[LabelledQuery] = []
    forms = {
        "sku_exact": lambda s: s,
        "sku_lower": str.lower,
        "sku_nodash": lambda s: (
            s.replace("-", "") if b.rng.random() < 0.5 else s.replace("-", "").lower()
        ),
        "sku_sentence": lambda s: b.rng.choice(SKU_SENTENCES).format(sku=s),
    }
    for category, form in forms.items():
        seeds = b.seeds()
        while sum(q.category == category for q in out) < counts[category]:
            product = next(seeds)
            b.add(out, category, form(product.sku), [product.sku])
    return out


def _model_queries(b: _Builder, count: int) -> list[LabelledQuery]:
    out: list[LabelledQuery] = []
    for product in b.seeds(lambda p: bool(p.model)):
        if len(out) >= count:
            break
        model = product.model
        family = FAMILIES[product.family]
        prefix, number = model.split("-")
        text = b.rng.choice(
            (
                model,
                model.lower().replace("-", ""),
                f"{prefix} {number}",
                f"{family.need.get(product.lang)} {model}",
                f"modelo {model}",
            )
        )
        relevant = [p.sku for p in b.products if p.model == model]
        b.add(out, "model", text, relevant)
    return out


# --- needs --------------------------------------------------------------------------------------


def _variant_group(family: Family, key: str) -> frozenset[str]:
    """Variants that read the same ("Pt100" transmitter and sensor)."""
    label = next(v.label for v in family.variants if v.key == key)
    return frozenset(v.key for v in family.variants if v.label == label)


def _need_text(product: Product, lang: str, rng: random.Random) -> tuple[str, Need] | None:
    """A need written from the product's attributes in ``lang``, and what it asks for."""
    if product.family in FAMILIES:
        family = FAMILIES[product.family]
        variant = next(v for v in family.variants if v.key == product.variant)
        noun, label = family.need.get(lang), variant.label.get(lang)
        app = rng.choice(product.apps)
        variants = _variant_group(family, product.variant)
        if family.code == "TEM" and not product.output:  # a sensor, not a transmitter
            noun = TEMPERATURE_SENSOR.get(lang)
            variants = frozenset({product.variant})
        elif family.code == "TEM":
            variants = frozenset({product.variant})
        choice = rng.randrange(3)
        if choice == 2 and product.output:
            output = product.output if product.output != "pulse" else "4-20mA"
            said = OUTPUTS[output].get(lang).split(" + ")[0]
            if output == "hart":
                said = "HART"
            text = (
                f"{noun} {label} con salida {said}"
                if lang == "es"
                else f"{label} {noun} with {said} output"
            )
            return text, Need(family.code, variants, outputs=OUTPUT_GROUPS[output])
        if choice == 1:
            text = (
                f"necesito medir {family.measure.es} en {APPS[app].es}"
                if lang == "es"
                else f"I need to measure {family.measure.en} in {APPS[app].en}"
            )
            return text, Need(family.code, app=app)
        text = (
            f"{noun} {label} para {APPS[app].es}"
            if lang == "es"
            else f"{label} {noun} for {APPS[app].en}"
        )
        return text, Need(family.code, variants, app=app)
    item = ITEMS[product.variant]
    value_key = product.feature("value")
    value = dict(item.values)[value_key].get(lang)
    if product.compatible and rng.random() < 0.4:
        model = rng.choice(product.compatible)
        joiner = "compatibles con el" if lang == "es" else "compatible with"
        text = f"{item.need.get(lang)} {value} {joiner} {model}"
        features = (("value", value_key),)
        return text, Need(
            product.family, frozenset({item.key}), features=features, compatible=model
        )
    text = f"{item.need.get(lang)} {value}"
    return text, Need(product.family, frozenset({item.key}), features=(("value", value_key),))


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


NEIGHBOURS = dict(zip("aeioulnrstdcm", "sriplkmetrsxn", strict=True))


def typo(text: str, rng: random.Random) -> str:
    """One or two typing mistakes in the longer plain words (never in a model or a unit)."""
    words = text.split()
    candidates = [i for i, w in enumerate(words) if len(w) >= 6 and w.isalpha()]
    for i in rng.sample(candidates, min(len(candidates), rng.choice((1, 1, 2)))):
        word = words[i]
        j = rng.randrange(1, len(word) - 1)
        kind = rng.randrange(4)
        if kind == 0:  # a letter dropped
            word = word[:j] + word[j + 1 :]
        elif kind == 1:  # two letters swapped
            word = word[:j] + word[j + 1] + word[j] + word[j + 2 :]
        elif kind == 2:  # a neighbouring key
            word = word[:j] + NEIGHBOURS.get(word[j], "e") + word[j + 1 :]
        else:  # a letter doubled
            word = word[:j] + word[j] + word[j:]
        words[i] = word
    return " ".join(words)


def _spanish_queries(b: _Builder, count: int) -> list[LabelledQuery]:
    """Spanish needs with accents; the same needs without accents, and with typos."""
    out: list[LabelledQuery] = []
    for product in b.seeds():
        if sum(q.category == "es_accents" for q in out) >= count:
            break
        text, need = _need_text(product, "es", b.rng)
        if strip_accents(text) == text:
            continue  # this category is about accents
        misspelt = typo(text if b.rng.random() < 0.5 else strip_accents(text), b.rng)
        if misspelt in (text, strip_accents(text)):
            continue  # no word long enough for a typo
        relevant = b.relevant(need)
        if b.add(out, "es_accents", text, relevant):
            b.add(out, "es_plain", strip_accents(text), relevant)
            b.add(out, "es_typos", misspelt, relevant)
    return out


def _english_queries(b: _Builder, count: int) -> list[LabelledQuery]:
    out: list[LabelledQuery] = []
    for product in b.seeds():
        if len(out) >= count:
            break
        text, need = _need_text(product, "en", b.rng)
        b.add(out, "english", text, b.relevant(need))
    return out


# --- specs --------------------------------------------------------------------------------------


def _range_query(range_: Range, lang: str, rng: random.Random) -> str:
    if range_.lo == "0" and rng.random() < 0.3:
        hi = range_.hi.replace(".", ",") if lang == "es" else range_.hi
        return f"{'hasta' if lang == 'es' else 'up to'} {hi} {range_.unit}"
    return range_.text(lang, rng.randrange(2))


def _spec_queries(b: _Builder, count: int) -> list[LabelledQuery]:
    out: list[LabelledQuery] = []
    rng = b.rng
    for product in b.seeds(lambda p: p.range is not None or p.feature("value") or p.feature("dn")):
        if len(out) >= count:
            break
        lang = "en" if rng.random() < 0.2 else "es"
        if product.family in FAMILIES:
            text, need = _instrument_spec(product, lang, rng)
        else:
            item = ITEMS[product.variant]
            value_key, format_key = product.feature("value"), product.feature("format")
            if not value_key:
                continue
            text = f"{item.name.get(lang)} {dict(item.values)[value_key].get(lang)}"
            features = [("value", value_key)]
            if len(item.formats) > 1 and rng.random() < 0.5:
                text += f" {dict(item.formats)[format_key].get(lang)}"
                features.append(("format", format_key))
            need = Need(product.family, frozenset({item.key}), features=tuple(features))
        b.add(out, "specs", text.lower() if rng.random() < 0.5 else text, b.relevant(need))
    return out


def _instrument_spec(product: Product, lang: str, rng: random.Random) -> tuple[str, Need]:
    family = FAMILIES[product.family]
    variant = next(v for v in family.variants if v.key == product.variant)
    noun, label = family.need.get(lang), variant.label.get(lang)
    if product.range is None:  # flow meters: the pipe size
        dn = product.feature("dn")
        need = Need(family.code, frozenset({variant.key}), features=(("dn", dn),))
        return f"{noun} {label} DN{dn}", need
    kind: dict = {}
    if family.code == "TEM":  # a transmitter has an output, a sensor has none
        noun = f"{noun if product.output else TEMPERATURE_SENSOR.get(lang)} {label}"
        kind = {"features": (("sensor", product.feature("sensor")),)}
        kind["has_output"] = bool(product.output)
    text = f"{noun} {_range_query(product.range, lang, rng)}"
    outputs: frozenset[str] = frozenset()
    if product.output in ("4-20mA", "modbus") and rng.random() < 0.5:
        text += f" {OUTPUTS[product.output].get(lang).removesuffix(' RTU')}"
        outputs = OUTPUT_GROUPS[product.output]
    return text, Need(family.code, range=product.range, outputs=outputs, **kind)


# --- synonyms -----------------------------------------------------------------------------------

# (query template, the family or consumable the seed comes from, what the query constrains,
# language). Each names the product with a word the generated catalog never uses for it.
SYNONYMS: tuple[tuple[str, str, str, str], ...] = (
    ("medidor de cloro {variant}", "CL", "variant", "es"),
    ("medidor de cloro para {app}", "CL", "app", "es"),
    ("sonda de pH", "ph_*", "", "es"),
    ("pHmetro {variant}", "PH", "variant", "es"),
    ("peachímetro para {app}", "PH", "app", "es"),
    ("oxímetro {variant}", "OD", "variant", "es"),
    ("oxímetro para {app}", "OD", "app", "es"),
    ("caudalímetro {variant}", "FLO", "variant", "es"),
    ("transductor de presión {range}", "PRE", "range", "es"),
    ("solución buffer {value}", "tampon", "value", "es"),
    ("nefelómetro {variant}", "TUR", "variant", "es"),
    ("medidor de turbiedad para {app}", "TUR", "app", "es"),
    ("conductivímetro {variant}", "CON", "variant", "es"),
    ("sonda de temperatura {variant}", "TEM", "variant", "es"),
    ("medidor de nivel {variant}", "LEV", "variant", "es"),
    ("celda de conductividad {value}", "celda_k", "value", "es"),
    ("patrón de turbidez {value}", "patron_turb", "value", "es"),
    ("tubos de DQO {value}", "dqo", "value", "es"),
    ("pastillas DPD para cloro libre", "dpd_libre", "tabletas", "es"),
    ("pressure transducer {range}", "PRE", "range", "en"),
    ("DO meter for {app}", "OD", "app", "en"),
    ("pH probe", "ph_*", "", "en"),
    ("{variant} flowmeter", "FLO", "variant", "en"),
)


def _synonym_queries(b: _Builder, count: int) -> list[LabelledQuery]:
    out: list[LabelledQuery] = []
    rng = b.rng
    attempts = 0
    while len(out) < count and attempts < 50 * count:
        attempts += 1
        template, source, constrains, lang = SYNONYMS[attempts % len(SYNONYMS)]
        if source.endswith("*"):
            keys = frozenset(k for k in ITEMS if k.startswith(source[:-1]))
            b.add(out, "synonyms", template, b.relevant(Need("ELE", keys)))
            continue
        in_family = source in FAMILIES
        pool = [p for p in b.products if (p.family == source if in_family else p.variant == source)]
        product = rng.choice(pool)
        need = Need(product.family) if in_family else Need(product.family, frozenset({source}))
        slots: dict[str, str] = {}
        if constrains == "variant":
            family = FAMILIES[source]
            variant = next(v for v in family.variants if v.key == product.variant)
            slots["variant"] = variant.label.get(lang)
            need = Need(source, _variant_group(family, product.variant))
        elif constrains == "app":
            app = rng.choice(product.apps)
            slots["app"] = APPS[app].get(lang)
            need = Need(source, app=app)
        elif constrains == "range":
            slots["range"] = _range_query(product.range, lang, rng)
            need = Need(source, range=product.range)
        elif constrains == "value":
            item = ITEMS[source]
            value_key = product.feature("value")
            slots["value"] = dict(item.values)[value_key].get(lang)
            need = Need(product.family, frozenset({source}), features=(("value", value_key),))
        elif constrains == "tabletas":
            need = Need(product.family, frozenset({source}), features=(("format", "tabletas"),))
        b.add(out, "synonyms", template.format(**slots), b.relevant(need))
    return out


# --- evaluation ---------------------------------------------------------------------------------


def recall_at(ranked: list[str], relevant: set[str], k: int = 5) -> float:
    return len(set(ranked[:k]) & relevant) / min(k, len(relevant))


def reciprocal_rank(ranked: list[str], relevant: set[str], k: int = 10) -> float:
    for rank, sku in enumerate(ranked[:k], start=1):
        if sku in relevant:
            return 1 / rank
    return 0.0


def ranked_skus(tenant, text: str, *, mode: str, k: int = 10) -> list[str]:
    """The SKUs ``catalog.search`` answers for ``text`` in ``mode``, best first; the caller
    holds the tenant's scope."""
    from catalog.search import search

    return [hit.sku for hit in search(tenant=tenant, query=text, k=k, mode=mode)]


def evaluate(
    tenant, queries: list[LabelledQuery]
) -> dict[str, dict[str, list[tuple[float, float]]]]:
    """Per mode and category, the (recall@5, reciprocal rank) of each query."""
    from tenants.scoping import tenant_scope

    scores: dict[str, dict[str, list[tuple[float, float]]]] = {m: {} for m in MODES}
    with tenant_scope(tenant):
        for mode in MODES:
            for query in queries:
                ranked = ranked_skus(tenant, query.text, mode=mode)
                relevant = set(query.relevant)
                score = (recall_at(ranked, relevant), reciprocal_rank(ranked, relevant))
                scores[mode].setdefault(query.category, []).append(score)
    return scores


def print_table(scores, queries: list[LabelledQuery]) -> None:
    sizes: dict[str, list[int]] = {}
    for query in queries:
        sizes.setdefault(query.category, []).append(len(query.relevant))
    header = f"{'category':<14}{'n':>4}{'|rel|':>7}"
    header += "".join(f"{mode + ' R@5':>14}{'MRR':>7}" for mode in MODES)
    print(header)
    print("-" * len(header))
    for category in [*CATEGORIES, "overall"]:
        if category == "overall":
            print("-" * len(header))
            n = len(queries)
            size = statistics.median(len(q.relevant) for q in queries)
        else:
            n, size = len(sizes.get(category, [])), statistics.median(sizes.get(category, [0]))
        line = f"{category:<14}{n:>4}{size:>7g}"
        for mode in MODES:
            rows = (
                [row for rows in scores[mode].values() for row in rows]
                if category == "overall"
                else scores[mode].get(category, [])
            )
            recall = statistics.mean(r for r, _ in rows) if rows else 0.0
            mrr = statistics.mean(rr for _, rr in rows) if rows else 0.0
            line += f"{recall:>14.3f}{mrr:>7.3f}"
        print(line)
    print("|rel| = median number of relevant products per query")


def print_misses(tenant, queries: list[LabelledQuery], mode: str = "fused") -> None:
    from tenants.scoping import tenant_scope

    with tenant_scope(tenant):
        for query in queries:
            ranked = ranked_skus(tenant, query.text, mode=mode, k=5)
            if recall_at(ranked, set(query.relevant)) < 1:
                print(
                    f"[{query.category}] {query.text!r} relevant={len(query.relevant)} "
                    f"top5={ranked} expected e.g. {list(query.relevant[:3])}"
                )


def import_generated(tenant, products: list[Product]) -> float:
    """Import the generated catalog into ``tenant`` with the real ``catalog_import``; seconds."""
    summary, seconds = harness.import_file(
        tenant=tenant, data=to_csv(products), filename="catalog.csv"
    )
    assert summary.created == len(products) and not summary.failed, summary.errors[:3]
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description="Recall@5 and MRR@10 of catalog search.")
    parser.add_argument("--products", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=2026, help="catalog seed")
    parser.add_argument("--query-seed", type=int, default=7)
    parser.add_argument("--dump", type=Path, help="write the labelled queries as JSON")
    parser.add_argument("--misses", action="store_true", help="list fused queries below R@5=1")
    args = parser.parse_args()

    products = generate(args.products, args.seed)
    queries = build_queries(products, seed=args.query_seed)
    if args.dump:
        args.dump.write_text(
            json.dumps([asdict(q) for q in queries], ensure_ascii=False, indent=1),
            encoding="utf-8",
        )
    with tempfile.TemporaryDirectory(prefix="search-eval-") as workdir:
        harness.setup_django(Path(workdir))
        tenant = harness.new_tenant("eval")
        seconds = import_generated(tenant, products)
        print(
            f"search evaluation: {len(products)} products (seed {args.seed}) imported in "
            f"{seconds:.1f} s; {len(queries)} labelled queries (seed {args.query_seed})"
        )
        print(harness.machine())
        started = time.perf_counter()
        scores = evaluate(tenant, queries)
        print(f"{len(queries) * len(MODES)} searches in {time.perf_counter() - started:.1f} s\n")
        print_table(scores, queries)
        if args.misses:
            print()
            print_misses(tenant, queries)


if __name__ == "__main__":
    main()
