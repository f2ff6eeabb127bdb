"""Query embeddings: one model pass for the queries of many turns, one torch thread, a cache.

Documents are embedded by ``catalog.index.embed`` (ingestion: large batches, every
torch thread). A query is one short text per search, and a worker process runs
many turns at once, so queries are embedded differently:

- One background thread per process embeds every query. The queries that arrive
  while it runs a forward pass go together into the next one; a query that
  arrives when it is idle runs at once, so a lone turn waits for no window.
  A batch of short texts costs about half the CPU per text of one text alone.
- That thread uses one torch thread: for a handful of short texts a second
  thread adds little, and when two worker processes share two cores it spins
  and slows both down. Other threads keep the process default.
- Vectors are cached per tenant and text (``catalog.caches.query_vectors``);
  texts that are already being embedded are not embedded twice.

Async code awaits :func:`query_vectors_async` (the agent does it before its
database work, off the thread that runs it); sync code calls :func:`query_vector`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future

import numpy as np
from django.conf import settings

from catalog.caches import query_vectors
from catalog.index import EMBED_BATCH, get_embedder

logger = logging.getLogger(__name__)

QUERY_TORCH_THREADS = 1

# (tenant id, model, text): texts are embedded, cached and shared in flight per tenant.
_Key = tuple[int, str, str]


class _Embedder:
    """The thread that embeds queries, and the queries waiting for it."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget the thread and the queue (a forked child has neither the thread nor the
        lock's holder)."""
        self._cond = threading.Condition()
        self._queue: deque[_Key] = deque()
        self._waiting: dict[_Key, Future[np.ndarray]] = {}
        self._started = False

    def submit(self, key: _Key) -> Future[np.ndarray]:
        with self._cond:
            self._ensure_thread()
            future = self._waiting.get(key)
            if future is None:
                future = Future()
                self._waiting[key] = future
                self._queue.append(key)
                self._cond.notify()
            return future

    def _ensure_thread(self) -> None:
        if self._started:
            return
        import torch

        default = torch.get_num_threads()
        ready = threading.Event()
        threading.Thread(
            target=self._run, args=(ready,), name="catalog-query-embedder", daemon=True
        ).start()
        ready.wait()
        # torch.set_num_threads in the new thread also changed the default that threads
        # started later inherit; put it back (the embedder thread keeps its own setting).
        torch.set_num_threads(default)
        self._started = True

    def _run(self, ready: threading.Event) -> None:
        import torch

        torch.get_num_threads()  # settle this thread's setting before changing it
        torch.set_num_threads(QUERY_TORCH_THREADS)
        ready.set()
        while True:
            with self._cond:
                while not self._queue:
                    self._cond.wait()
                batch = [self._queue.popleft() for _ in range(min(EMBED_BATCH, len(self._queue)))]
            self._embed(batch)

    def _embed(self, batch: list[_Key]) -> None:
        by_model: dict[str, list[_Key]] = {}
        for key in batch:
            by_model.setdefault(key[1], []).append(key)
        for model, keys in by_model.items():
            try:
                vectors = get_embedder(model).encode(
                    [key[2] for key in keys],
                    batch_size=EMBED_BATCH,
                    normalize_embeddings=True,
                    show_progress_bar=False,
                    convert_to_numpy=True,
                )
                outcome: np.ndarray | BaseException = np.asarray(vectors, dtype=np.float32)
            except BaseException as exc:  # handed to every caller waiting for this batch
                logger.exception("query embedding failed")
                outcome = exc
            with self._cond:
                futures = [self._waiting.pop(key) for key in keys]
            for index, future in enumerate(futures):
                if isinstance(outcome, BaseException):
                    future.set_exception(outcome)
                else:
                    vector = outcome[index].copy()  # not a view that keeps the batch alive
                    vector.flags.writeable = False
                    future.set_result(vector)


_embedder = _Embedder()
os.register_at_fork(after_in_child=_embedder.reset)


def _key(tenant_id: int, text: str) -> _Key:
    if not isinstance(tenant_id, int):
        raise ValueError("A query embedding needs the tenant's id.")
    return (tenant_id, settings.CATALOG_EMBEDDING_MODEL, text)


def _submit(keys: Sequence[_Key]) -> tuple[list[np.ndarray | None], list[Future[np.ndarray]]]:
    """The cached vector of each key (None when missing), and the futures of the missing."""
    found = [query_vectors.get(key) for key in keys]
    futures = [
        _embedder.submit(key) for key, vector in zip(keys, found, strict=True) if vector is None
    ]
    return found, futures


def _complete(
    keys: Sequence[_Key], found: list[np.ndarray | None], computed: list[np.ndarray]
) -> list[np.ndarray]:
    missing = iter(computed)
    out = []
    for key, vector in zip(keys, found, strict=True):
        if vector is None:
            vector = next(missing)
            query_vectors.put(key, vector)
        out.append(vector)
    return out


def query_vector(*, tenant_id: int, text: str) -> np.ndarray:
    """The normalised embedding of ``text`` (float32, read-only), from the cache or the model."""
    keys = [_key(tenant_id, text)]
    found, futures = _submit(keys)
    return _complete(keys, found, [future.result() for future in futures])[0]


def query_vector_soon(*, tenant_id: int, text: str) -> Callable[[], np.ndarray]:
    """Start embedding ``text`` (unless cached) and return what waits for its vector, so the
    caller can do other work (the lexical ranking) while the embedder thread runs."""
    keys = [_key(tenant_id, text)]
    found, futures = _submit(keys)

    def result() -> np.ndarray:
        return _complete(keys, found, [future.result() for future in futures])[0]

    return result


async def query_vectors_async(*, tenant_id: int, texts: Sequence[str]) -> list[np.ndarray]:
    """Like :func:`query_vector` for several texts, awaiting the embedder thread."""
    keys = [_key(tenant_id, text) for text in texts]
    found, futures = _submit(keys)
    computed = [await asyncio.wrap_future(future) for future in futures]
    return _complete(keys, found, computed)
