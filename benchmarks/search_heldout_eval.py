"""Held-out search evaluation (issue 11): hand-written catalogs and queries, a part to tune on,
a part to report, and the generated set of ``search_eval`` beside them, in one run.

The data lives in ``benchmarks/search_heldout/``: two catalogs written by hand in the
importer's CSV format, as two distributors would export them (a Spanish water-analysis and
laboratory distributor, ``lab_es.csv``; an industrial process-instrumentation distributor,
mostly English, ``process_en.csv``), and for each one ``<catalog>.queries.json``: queries
typed as customers type them, each with its ``kind`` and the SKUs of every active product
that satisfies it, decided by reading the product data (never from search results; the rules
are in each file's ``relevance``). Nothing here is generated from templates.

Each query carries its ``split``: in every (catalog, kind) the queries ordered by the SHA-256
of their id, the first ``round(0.4 n)`` are ``tune`` and the others ``heldout``
(:func:`assign_splits`; the data test checks the files against it, so no query moves
between parts). Tune on ``tune``, report ``heldout``. ``--misses`` and the per-query part of
``--json`` cover ``tune`` only, so the held-out queries stay unread while tuning.

In a throwaway database and Chroma directory (``benchmarks.harness``), each catalog is uploaded
into its own tenant the way the admin's upload task does it (a ``CatalogUpload`` file run by
``catalog_upload_process``), and the generated catalog of ``search_eval`` into a third tenant.
Every query runs through the real ``catalog.search`` in its catalog's tenant, once for each
mode the search offers (``fused``, the default, then the single rankings as baselines).

Metrics per query, averaged (the first two as ``search_eval`` computes them): recall@5 =
relevant products in the top 5 / min(5, relevant products); MRR = 1 / rank of the first
relevant product in the top 10, 0 when none; hit@5 = 1 when a relevant product is in the top 5.
The generated set's categories are reported under the kinds they test (``GENERATED_KINDS``).

    python -m benchmarks.search_heldout_eval [--json FILE] [--misses] [--no-generated]
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import inspect
import json
import os
import statistics
import tempfile
import time
import typing
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import harness
from benchmarks.search_eval import (
    build_queries,
    import_generated,
    ranked_skus,
    recall_at,
    reciprocal_rank,
)

DATA = Path(__file__).resolve().parent / "search_heldout"
CATALOGS = ("lab_es", "process_en")
KINDS = (
    "sku",
    "need",
    "spec",
    "typo",
    "synonym",
    "english_over_spanish",
    "spanish_over_english",
)
SPLITS = ("tune", "heldout")
TUNE_SHARE = 0.4
GENERATED = "generated"
COLUMNS = (*SPLITS, GENERATED)
# search_eval's categories under the kinds of issue 11 (a model number is typed like a SKU).
GENERATED_KINDS = {
    "sku_exact": "sku",
    "sku_lower": "sku",
    "sku_nodash": "sku",
    "sku_sentence": "sku",
    "model": "sku",
    "es_accents": "need",
    "es_plain": "need",
    "es_typos": "typo",
    "english": "english_over_spanish",
    "specs": "spec",
    "synonyms": "synonym",
}
K = 5


@dataclass(frozen=True)
class Query:
    id: str
    catalog: str
    kind: str
    split: str
    text: str
    relevant: tuple[str, ...]  # SKUs


@dataclass(frozen=True)
class Result:
    query: Query
    mode: str
    ranked: tuple[str, ...]  # top 10 SKUs

    @property
    def recall(self) -> float:
        return recall_at(list(self.ranked), set(self.query.relevant), K)

    @property
    def hit(self) -> float:
        return float(bool(set(self.ranked[:K]) & set(self.query.relevant)))

    @property
    def reciprocal_rank(self) -> float:
        return reciprocal_rank(list(self.ranked), set(self.query.relevant))


# --- data -------------------------------------------------------------------------------------


def catalog_path(catalog: str) -> Path:
    return DATA / f"{catalog}.csv"


def queries_document(catalog: str) -> dict[str, Any]:
    return json.loads((DATA / f"{catalog}.queries.json").read_text(encoding="utf-8"))


def load_queries(catalogs: Iterable[str] = CATALOGS) -> list[Query]:
    out = []
    for catalog in catalogs:
        for item in queries_document(catalog)["queries"]:
            out.append(
                Query(
                    id=item["id"],
                    catalog=catalog,
                    kind=item["kind"],
                    split=item.get("split", ""),
                    text=item["query"],
                    relevant=tuple(item["relevant"]),
                )
            )
    return out


def assign_splits(queries: Iterable[Query]) -> dict[str, str]:
    """The split of each query id: per (catalog, kind), ordered by the SHA-256 of the id, the
    first ``round(TUNE_SHARE * n)`` are ``tune``, the rest ``heldout``."""
    strata: dict[tuple[str, str], list[str]] = {}
    for query in queries:
        strata.setdefault((query.catalog, query.kind), []).append(query.id)
    splits = {}
    for ids in strata.values():
        ids.sort(key=lambda i: hashlib.sha256(i.encode()).hexdigest())
        tune = round(TUNE_SHARE * len(ids))
        splits.update({i: "tune" if n < tune else "heldout" for n, i in enumerate(ids)})
    return splits


# --- runs -------------------------------------------------------------------------------------


def search_modes() -> tuple[str, ...]:
    """The modes ``catalog.search.search`` accepts, its default first."""
    from catalog import search as search_module

    default = inspect.signature(search_module.search).parameters["mode"].default
    offered = typing.get_args(getattr(search_module, "Mode", None)) or (default,)
    return (default, *(mode for mode in offered if mode != default))


def upload_catalog(tenant, catalog: str):
    """Upload the catalog's file into ``tenant`` as the admin does and process it as the upload
    task does; the finished upload and the seconds the processing took."""
    from django.core.files.base import ContentFile

    from catalog.models import CatalogUpload
    from catalog.services import catalog_upload_process
    from tenants.scoping import tenant_scope

    path = catalog_path(catalog)
    with tenant_scope(tenant):
        upload = CatalogUpload(tenant=tenant, original_name=path.name)
        upload.file.save(path.name, ContentFile(path.read_bytes()), save=True)
        started = time.perf_counter()
        upload = catalog_upload_process(upload=upload)
        return upload, time.perf_counter() - started


def run(tenant, queries: list[Query], modes: tuple[str, ...]) -> list[Result]:
    from tenants.scoping import tenant_scope

    with tenant_scope(tenant):
        return [
            Result(query, mode, tuple(ranked_skus(tenant, query.text, mode=mode)))
            for mode in modes
            for query in queries
        ]


def generated_queries(products: int, seed: int, query_seed: int):
    """search_eval's generated products and its labelled queries, as :class:`Query`."""
    from benchmarks.catalog_data import generate

    catalog = generate(products, seed)
    labelled = build_queries(catalog, seed=query_seed)
    queries = [
        Query(
            id=f"gen-{n:03d}",
            catalog=GENERATED,
            kind=GENERATED_KINDS[q.category],
            split=GENERATED,
            text=q.text,
            relevant=q.relevant,
        )
        for n, q in enumerate(labelled, start=1)
    ]
    return catalog, queries


# --- figures ----------------------------------------------------------------------------------


def figures(results: Iterable[Result]) -> dict[str, float]:
    results = list(results)
    if not results:
        return {"n": 0}
    recalls = [r.recall for r in results]
    return {
        "n": len(results),
        "recall@5": round(statistics.mean(recalls), 3),
        # the standard error of that mean: how far one run of other queries could move it
        "recall@5_se": round(statistics.stdev(recalls) / len(recalls) ** 0.5, 3)
        if len(recalls) > 1
        else 0.0,
        "hit@5": round(statistics.mean(r.hit for r in results), 3),
        "mrr": round(statistics.mean(r.reciprocal_rank for r in results), 3),
    }


def summarise(results: list[Result], modes: tuple[str, ...]) -> dict[str, Any]:
    """Per mode and column (tune, heldout, generated): the figures per kind, overall, and per
    catalog."""
    out: dict[str, Any] = {}
    for mode in modes:
        out[mode] = {}
        for column in COLUMNS:
            chosen = [r for r in results if r.mode == mode and r.query.split == column]
            if not chosen:
                continue
            out[mode][column] = {
                "overall": figures(chosen),
                "kinds": {
                    kind: figures(r for r in chosen if r.query.kind == kind)
                    for kind in KINDS
                    if any(r.query.kind == kind for r in chosen)
                },
                "catalogs": {
                    catalog: figures(r for r in chosen if r.query.catalog == catalog)
                    for catalog in sorted({r.query.catalog for r in chosen})
                },
            }
    return out


def _cells(entry: dict[str, float] | None) -> str:
    if not entry or not entry.get("n"):
        return f"{'':>4}{'-':>7}{'-':>7}{'-':>7}"
    return f"{entry['n']:>4}{entry['recall@5']:>7.3f}{entry['hit@5']:>7.3f}{entry['mrr']:>7.3f}"


def print_tables(summary: dict[str, Any], modes: tuple[str, ...]) -> None:
    head = f"{'':<22}" + "".join(f"{column:>25}" for column in COLUMNS)
    sub = f"{'kind':<22}" + f"{'n':>4}{'R@5':>7}{'hit@5':>7}{'MRR':>7}" * len(COLUMNS)
    for mode in modes:
        columns = summary[mode]
        print(f"\n{mode}{' (the default)' if mode == modes[0] else ''}")
        print(head)
        print(sub)
        print("-" * len(sub))
        for kind in KINDS:
            row = [columns.get(c, {}).get("kinds", {}).get(kind) for c in COLUMNS]
            if any(row):
                print(f"{kind:<22}" + "".join(_cells(entry) for entry in row))
        print("-" * len(sub))
        print(
            f"{'overall':<22}" + "".join(_cells(columns.get(c, {}).get("overall")) for c in COLUMNS)
        )
        for catalog in CATALOGS:
            row = [columns.get(c, {}).get("catalogs", {}).get(catalog) for c in SPLITS]
            print(f"{'  ' + catalog:<22}" + "".join(_cells(entry) for entry in row))
    print("\noverall recall@5 (± its standard error) / hit@5 / MRR by mode")
    print(f"{'mode':<10}" + "".join(f"{column:>30}" for column in COLUMNS))
    for mode in modes:
        line = f"{mode:<10}"
        for column in COLUMNS:
            entry = summary[mode].get(column, {}).get("overall")
            line += (
                f"{entry['recall@5']:>9.3f} ±{entry['recall@5_se']:.3f} /{entry['hit@5']:>6.3f}"
                f" /{entry['mrr']:>6.3f}"
                if entry
                else f"{'-':>30}"
            )
        print(line)


def print_misses(results: list[Result], mode: str) -> None:
    """The tune queries below recall@5 = 1 (never the held-out ones)."""
    print(f"\ntune queries below R@5 = 1 ({mode}):")
    for r in results:
        if r.mode == mode and r.query.split == "tune" and r.recall < 1:
            print(
                f"[{r.query.id} {r.query.kind}] {r.query.text!r} relevant={list(r.query.relevant)}"
                f" top5={list(r.ranked[:K])}"
            )


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description="Held-out recall@5, hit@5 and MRR of search.")
    parser.add_argument(
        "--json", type=Path, help="also write the figures as JSON to FILE ('-': only JSON, stdout)"
    )
    parser.add_argument("--misses", action="store_true", help="list tune queries below R@5=1")
    parser.add_argument("--no-generated", action="store_true", help="skip the generated set")
    parser.add_argument("--products", type=int, default=2000, help="generated products")
    parser.add_argument("--seed", type=int, default=2026, help="generated catalog seed")
    parser.add_argument("--query-seed", type=int, default=7, help="generated query seed")
    args = parser.parse_args()

    queries = load_queries()
    splits = assign_splits(queries)
    unsplit = [q.id for q in queries if q.split != splits[q.id]]
    assert not unsplit, f"split field differs from assign_splits for {unsplit[:5]}"
    meta: dict[str, Any] = {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "load_average_start": load_average(),
        "queries": {
            split: {
                kind: sum(q.split == split and q.kind == kind for q in queries) for kind in KINDS
            }
            for split in SPLITS
        },
        "catalogs": {},
    }
    with tempfile.TemporaryDirectory(prefix="search-heldout-") as workdir:
        harness.setup_django(Path(workdir))
        modes = search_modes()
        meta["machine"] = harness.machine()
        meta["modes"] = list(modes)
        results: list[Result] = []
        started = time.perf_counter()
        for catalog in CATALOGS:
            tenant = harness.new_tenant(catalog.replace("_", "-"))
            upload, seconds = upload_catalog(tenant, catalog)
            assert upload.status == "done", (catalog, upload.error_message)
            meta["catalogs"][catalog] = {
                "rows": upload.total_rows,
                "created": upload.created_count,
                "failed": upload.failed_count,
                "errors": upload.errors[:5],
                "import_seconds": round(seconds, 1),
            }
            results += run(tenant, [q for q in queries if q.catalog == catalog], modes)
        if not args.no_generated:
            products, generated = generated_queries(args.products, args.seed, args.query_seed)
            tenant = harness.new_tenant(GENERATED)
            seconds = import_generated(tenant, products)
            meta["catalogs"][GENERATED] = {
                "products": len(products),
                "seed": args.seed,
                "query_seed": args.query_seed,
                "queries": len(generated),
                "import_seconds": round(seconds, 1),
            }
            results += run(tenant, generated, modes)
        meta["seconds"] = round(time.perf_counter() - started, 1)
        meta["load_average_end"] = load_average()

    summary = summarise(results, modes)
    document = {"meta": meta, "figures": summary, "tune": tune_results(results)}
    if args.json and str(args.json) == "-":
        print(json.dumps(document, ensure_ascii=False, indent=1))
        return
    report(meta, summary, modes)
    if args.misses:
        print_misses(results, modes[0])
    if args.json:
        args.json.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", "utf-8")


def tune_results(results: list[Result]) -> list[dict[str, Any]]:
    """Per query and mode, the tune queries only."""
    return [
        {
            "id": r.query.id,
            "mode": r.mode,
            "recall@5": round(r.recall, 3),
            "hit@5": r.hit,
            "rr": round(r.reciprocal_rank, 3),
            "top10": list(r.ranked),
        }
        for r in results
        if r.query.split == "tune"
    ]


def report(meta: dict[str, Any], summary: dict[str, Any], modes: tuple[str, ...]) -> None:
    print("held-out search evaluation (issue 11)")
    print(f"{meta['date']}; {meta['machine']}")
    print(
        f"load average {meta['load_average_start']} at the start, "
        f"{meta['load_average_end']} at the end; {meta['seconds']} s"
    )
    for catalog, info in meta["catalogs"].items():
        if catalog == GENERATED:
            print(
                f"{catalog}: {info['products']} products (seed {info['seed']}), "
                f"{info['queries']} queries (seed {info['query_seed']}), "
                f"imported in {info['import_seconds']} s"
            )
        else:
            print(
                f"{catalog}: {info['rows']} rows uploaded, {info['created']} products created, "
                f"{info['failed']} rows failed {info['errors'] or ''}in {info['import_seconds']} s"
            )
    for split, counts in meta["queries"].items():
        listed = ", ".join(f"{kind} {n}" for kind, n in counts.items() if n)
        print(f"{split}: {sum(counts.values())} queries ({listed})")
    print_tables(summary, modes)
    print("R@5 = recall@5, hit@5 = a relevant product in the top 5, MRR over the top 10")


if __name__ == "__main__":
    main()
