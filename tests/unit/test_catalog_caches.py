"""The per-process search caches: keyed by tenant (fail closed), bounded, expiring."""

from __future__ import annotations

import pytest

from catalog import caches
from catalog.caches import TenantLRU


def test_a_key_without_a_tenant_id_is_refused():
    cache = TenantLRU(4)
    for key in [(), (None, "q"), ("1", "q"), ("tenant-1", "q")]:
        with pytest.raises(ValueError, match="tenant"):
            cache.put(key, "hits")
        with pytest.raises(ValueError, match="tenant"):
            cache.get(key)


def test_entries_are_per_tenant_and_cleared_per_tenant():
    cache = TenantLRU(10)
    cache.put((1, "v1", "cloro"), "hits of tenant 1")
    cache.put((2, "v1", "cloro"), "hits of tenant 2")
    assert cache.get((1, "v1", "cloro")) == "hits of tenant 1"
    assert cache.get((2, "v1", "cloro")) == "hits of tenant 2"
    assert cache.get((3, "v1", "cloro")) is None
    cache.clear(1)
    assert cache.get((1, "v1", "cloro")) is None
    assert cache.get((2, "v1", "cloro")) == "hits of tenant 2"
    cache.clear()
    assert len(cache) == 0


def test_the_least_recently_used_entry_goes_first():
    cache = TenantLRU(2)
    cache.put((1, "a"), "A")
    cache.put((1, "b"), "B")
    assert cache.get((1, "a")) == "A"  # now "b" is the oldest
    cache.put((1, "c"), "C")
    assert cache.get((1, "b")) is None
    assert cache.get((1, "a")) == "A" and cache.get((1, "c")) == "C"


def test_entries_expire_after_the_ttl(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(caches.time, "monotonic", lambda: now[0])
    cache = TenantLRU(4, ttl=60.0)
    cache.put((1, "q"), "hits")
    now[0] += 59.0
    assert cache.get((1, "q")) == "hits"
    now[0] += 2.0
    assert cache.get((1, "q")) is None
    assert len(cache) == 0


def test_hits_and_misses_are_counted():
    cache = TenantLRU(4)
    cache.get((1, "q"))
    cache.put((1, "q"), "hits")
    cache.get((1, "q"))
    assert (cache.hits, cache.misses) == (1, 1)
