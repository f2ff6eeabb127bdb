"""Catalog benchmark: ingestion next to raw encode throughput, and search latency.

On one generated catalog (10,000 products by default), in one run:

1. the texts ingestion embeds (``catalog.index.product_document`` of each product, on the
   text cleaned from its HTML exactly as the import cleans it), encoded with the same model
   and the same ``catalog.index.embed``: texts per second. This is the physical limit of
   ingestion on this machine;
2. the real ``catalog_import`` of the catalog as a CSV file into a new tenant (parsing, HTML
   cleaning, hashing, database writes, embedding, Chroma upserts): products per second, and
   the share of its wall time spent in the model (``catalog.index.embed``).
   Imports and encodes alternate (encode, import, encode, import, encode with the default
   two rounds), and each import's ratio is taken against the faster of the encodes just
   before and after it; then the vector store's recall@10 against exact search;
3. search latency over varied queries (SKUs, models, needs in Spanish and English, specs,
   synonyms), warm (after one query has built the lexical index): fused, then dense only and
   lexical only for context.

    python -m benchmarks.catalog_bench [--products 10000] [--queries 500] [--rounds 2]
                                       [--profile FILE]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks import harness
from benchmarks.catalog_data import Product, generate, to_csv
from benchmarks.search_eval import build_queries


def ingestion_texts(products: list[Product]) -> list[str]:
    """What ``catalog_import`` embeds for each product, computed the way it computes it."""
    from catalog.cleaning import clean_html
    from catalog.index import product_document
    from catalog.models import Product as ProductModel

    texts = []
    for p in products:
        parts = (clean_html(p.description_html.strip()), clean_html(p.specs_html.strip()))
        clean_text = "\n".join(t for t in parts if t)
        row = ProductModel(
            name=p.name.strip(),
            brand=p.brand.strip(),
            category=p.category.strip(),
            clean_text=clean_text,
        )
        texts.append(product_document(row))
    return texts


def encode_rate(texts: list[str]) -> float:
    from catalog.index import embed

    started = time.perf_counter()
    vectors = embed(texts)
    elapsed = time.perf_counter() - started
    assert len(vectors) == len(texts)
    return len(texts) / elapsed


def check_same_texts(tenant, products: list[Product], texts: list[str]) -> None:
    """The texts encoded above are the ones the import embedded: each indexed product's
    document (``product_document`` of its row in the database) is the text encoded for its
    SKU, and the index holds every product with the row's content hash."""
    from catalog.index import indexed_entries, product_document
    from catalog.models import Product as ProductModel

    expected = {p.sku: text for p, text in zip(products, texts, strict=True)}
    rows = {str(p.pk): p for p in ProductModel.objects.all()}
    entries = indexed_entries(tenant=tenant)
    assert len(entries) == len(products) == len(rows)
    for entry_id, metadata in entries.items():
        row = rows[entry_id]
        assert metadata["sku"] == row.sku and metadata["content_hash"] == row.content_hash
        assert product_document(row) == expected[row.sku], row.sku


def dense_recall(tenant, queries: list[str], k: int = 10) -> float:
    """Recall@k of the vector store's approximate (HNSW) search against exact cosine search
    over the same stored vectors, for the query vectors: what the graph's build settings
    (``catalog.index.HNSW_CONFIGURATION``) cost in quality."""
    import numpy as np

    from catalog.index import embed, get_collection

    collection = get_collection(tenant)
    stored = collection.get(include=["embeddings"])
    ids = np.array(stored["ids"])
    matrix = np.asarray(stored["embeddings"], dtype=np.float32)
    vectors = np.asarray(embed(queries), dtype=np.float32)
    exact = np.argsort(-(vectors @ matrix.T), axis=1)[:, :k]
    approximate = collection.query(query_embeddings=vectors, n_results=k, include=[])["ids"]
    found = [len(set(ids[row]) & set(got)) for row, got in zip(exact, approximate, strict=True)]
    return sum(found) / (k * len(queries))


class EmbedClock:
    """Seconds the import spends in ``catalog.index.embed`` (the model), counted by wrapping
    the function the import calls. Its share of the import's wall time is the pipeline's own
    overhead, measured within the import and so free of the machine's drift between runs."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def __enter__(self) -> EmbedClock:
        from catalog import index

        self.original = index.embed

        def timed(texts):
            started = time.perf_counter()
            try:
                return self.original(texts)
            finally:
                self.seconds += time.perf_counter() - started

        index.embed = timed
        return self

    def __exit__(self, *exc_info) -> None:
        from catalog import index

        index.embed = self.original


def latencies(tenant, queries: list[str], mode: str) -> list[float]:
    from catalog.caches import search_results
    from catalog.search import search
    from tenants.scoping import tenant_scope

    search_results.clear()  # every pass searches; query vectors stay cached
    out = []
    with tenant_scope(tenant):
        search(tenant=tenant, query="warm-up", k=5, mode=mode)
        for query in queries:
            started = time.perf_counter()
            search(tenant=tenant, query=query, k=5, mode=mode)
            out.append((time.perf_counter() - started) * 1000)
    return out


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description="Catalog ingestion and search benchmark.")
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--rounds", type=int, default=2, help="imports, each between encodes")
    parser.add_argument("--profile", type=Path, help="write a cProfile of the first import here")
    args = parser.parse_args()

    products = generate(args.products, args.seed)
    data = to_csv(products)
    labelled = build_queries(products, seed=11, scale=3)
    queries = [q.text for q in random.Random(11).sample(labelled, min(args.queries, len(labelled)))]

    with tempfile.TemporaryDirectory(prefix="catalog-bench-") as workdir:
        harness.setup_django(Path(workdir))
        import torch

        from catalog.index import EMBED_BATCH, HNSW_CONFIGURATION, embed, get_embedder
        from tenants.scoping import tenant_scope

        print(
            f"catalog benchmark: {len(products)} products (seed {args.seed}), "
            f"{len(data) / 1e6:.1f} MB of CSV; {harness.machine()}; "
            f"load average {load_average()}"
        )
        started = time.perf_counter()
        texts = ingestion_texts(products)
        cleaning = time.perf_counter() - started
        chars = statistics.mean(len(t) for t in texts)
        print(
            f"texts: {len(texts)}, mean {chars:.0f} characters; HTML cleaning took "
            f"{cleaning:.1f} s ({len(texts) / cleaning:.0f} products/s)"
        )
        get_embedder()
        embed(texts[:64])  # load and warm the model outside every measure

        # Rounds of (import, encode) after a first encode: each import is compared with the
        # encode runs just before and after it, so a change of the machine's speed during
        # the run shows as a difference between those two, not as a ratio.
        encodes = [encode_rate(texts)]
        print(f"raw encode 1: {encodes[0]:8.1f} texts/s")
        ratios: list[tuple[float, float]] = []
        shares: list[float] = []
        for number in range(1, args.rounds + 1):
            tenant = harness.new_tenant(f"bench-{number}")
            profiler = cProfile.Profile() if args.profile and number == 1 else None
            if profiler:
                profiler.enable()
            with EmbedClock() as clock:
                summary, seconds = harness.import_file(
                    tenant=tenant, data=data, filename="catalog.csv"
                )
            if profiler:
                profiler.disable()
                profiler.dump_stats(args.profile)
            assert summary.created == len(products) and not summary.failed, summary.errors[:3]
            ingestion = len(products) / seconds
            print(
                f"ingestion {number} (catalog_import): {ingestion:8.1f} products/s "
                f"({seconds:.1f} s); load average {load_average()}"
            )
            shares.append(clock.seconds / seconds)
            print(
                f"  of which in the model: {clock.seconds:.1f} s ({shares[-1]:.1%}; the rest, "
                f"{seconds - clock.seconds:.1f} s, is parsing, cleaning, writes and waits)"
            )
            encodes.append(encode_rate(texts))
            print(f"raw encode {number + 1}: {encodes[-1]:8.1f} texts/s")
            adjacent = encodes[-2:]
            ratios.append((ingestion / max(adjacent), ingestion / statistics.mean(adjacent)))
            print(
                f"  ingestion {number} / raw encode: {ratios[-1][0]:.0%} of the faster encode "
                f"before or after it ({ratios[-1][1]:.0%} of their mean)"
            )
            with tenant_scope(tenant):
                check_same_texts(tenant, products, texts)
        # Like with like: the import embeds in this (the main) thread with the same model,
        # batch size and torch threads as the raw encode.
        print(f"torch threads: {torch.get_num_threads()}; model batch {EMBED_BATCH}")
        # The machine's own speed drifts by up to a fifth between two encodes minutes apart,
        # so one round decides little: the median over the rounds is the figure.
        strict = [ratio for ratio, _ in ratios]
        mean = [ratio for _, ratio in ratios]
        print(
            f"ingestion / raw encode, {len(ratios)} round(s): "
            + ", ".join(f"{ratio:.0%}" for ratio in strict)
            + f" of the faster adjacent encode (median {statistics.median(strict):.0%}, worst "
            f"{min(strict):.0%}); of their mean: median {statistics.median(mean):.0%}; "
            f"target >= 95%; load average {load_average()}"
        )
        print(
            "share of the import's wall time in the model, by round: "
            + ", ".join(f"{share:.1%}" for share in shares)
        )
        with tenant_scope(tenant):
            recall = dense_recall(tenant, queries)
        print(
            f"dense search, HNSW against exact over the stored vectors: recall@10 "
            f"{recall:.3f} ({len(queries)} queries; {HNSW_CONFIGURATION})\n"
        )

        from catalog import search as search_module

        print(f"search latency over {len(queries)} queries, warm, k=5 (ms):")
        print(f"{'mode':<15}{'p50':>8}{'p90':>8}{'p99':>8}{'max':>8}{'mean':>8}  embedded")
        # The fused search as it is, then the reference: the fusion of before (the dense
        # ranking asked for every query, DENSE_WHEN = "always") on queries not embedded yet;
        # then each ranking alone (dense on the vectors cached by the pass before).
        passes = (("fused", "fused", None), ("fused-always", "fused", "always"))
        passes += (("dense", "dense", None), ("lexical", "lexical", None))
        default = search_module.DENSE_WHEN
        for label, mode, dense_when in passes:
            from catalog.caches import query_vectors

            search_module.DENSE_WHEN = dense_when or default
            before = len(query_vectors)
            times = latencies(tenant, queries, mode)
            search_module.DENSE_WHEN = default
            figures = [harness.percentile(times, q) for q in (50, 90, 99, 100)]
            figures.append(statistics.mean(times))
            embedded = len(query_vectors) - before
            print(
                f"{label:<15}" + "".join(f"{value:>8.1f}" for value in figures) + f"{embedded:>10}"
            )
        print(f"target: fused p99 <= 25 ms; load average {load_average()}")


if __name__ == "__main__":
    main()
