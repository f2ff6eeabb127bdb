"""Per-process caches of search: query embeddings and search results.

Every key starts with the tenant's id, so one tenant's cached entries can never
answer another tenant's search (nor tell it, by being fast, what the other's
customers asked). Nothing here is shared between processes.

- ``query_vectors``: the embedding of a query text. A pure function of the
  model and the text, so it never goes stale.
- ``search_results``: the hits of a search, keyed by the catalog version that
  ``catalog.search`` reads from the database for every search, so any change
  of the tenant's products (through any process) makes the old entries
  unreachable. The vector index is written just after the database, so a
  search in that gap would cache a dense ranking that misses the change: the
  writes in this process clear the tenant's results (``search_results_clear``),
  and entries expire after ``RESULTS_TTL`` seconds for the writes of other
  processes.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

QUERY_VECTORS_SIZE = 4096  # float32 vectors of 384 values: about 6 MB
SEARCH_RESULTS_SIZE = 4096
RESULTS_TTL = 60.0  # seconds


class TenantLRU:
    """A thread-safe LRU map whose keys are tuples starting with a tenant id."""

    def __init__(self, size: int, ttl: float | None = None) -> None:
        self.size = size
        self.ttl = ttl
        self._data: OrderedDict[tuple[Hashable, ...], tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def _check(key: tuple[Hashable, ...]) -> None:
        if not key or not isinstance(key[0], int):
            raise ValueError("A search cache key must start with the tenant's id.")

    def get(self, key: tuple[Hashable, ...]) -> Any | None:
        self._check(key)
        with self._lock:
            entry = self._data.get(key)
            if entry is not None and self.ttl is not None and time.monotonic() > entry[0]:
                del self._data[key]
                entry = None
            if entry is None:
                self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return entry[1]

    def put(self, key: tuple[Hashable, ...], value: Any) -> None:
        self._check(key)
        expires = time.monotonic() + self.ttl if self.ttl is not None else 0.0
        with self._lock:
            self._data[key] = (expires, value)
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)

    def clear(self, tenant_id: int | None = None) -> None:
        """Drop the tenant's entries, or every entry when ``tenant_id`` is None."""
        with self._lock:
            if tenant_id is None:
                self._data.clear()
                return
            for key in [key for key in self._data if key[0] == tenant_id]:
                del self._data[key]

    def __len__(self) -> int:
        return len(self._data)


query_vectors = TenantLRU(QUERY_VECTORS_SIZE)
search_results = TenantLRU(SEARCH_RESULTS_SIZE, ttl=RESULTS_TTL)


def _after_fork() -> None:
    # A lock held by another thread at the fork would never be released in the child.
    for cache in (query_vectors, search_results):
        cache._lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork)


def search_results_clear(*, tenant_id: int) -> None:
    """Forget the tenant's cached search results (its catalog or its index changed)."""
    search_results.clear(tenant_id)


def caches_clear() -> None:
    """Empty every cache of this module (tests)."""
    query_vectors.clear()
    search_results.clear()
