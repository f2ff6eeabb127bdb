"""A tenant's synonym groups as its searches read them.

Synonyms apply to the query only (``catalog.search``), so an edit in the admin changes the
next search without touching the index. Each search reads the tenant's synonyms version
(count and last change of its groups, deleted ones included, so a deletion counts; in the
same statement as the catalog version, ``catalog.search``): the
parsed groups are kept per process while it is unchanged, and the version is part of the
search results' cache key (``catalog.caches``), so no cached result outlives an edit, in
this process or another.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from catalog.glossary import TermGroups
from catalog.models import SynonymGroup

if TYPE_CHECKING:
    from tenants.models import Tenant

SynonymsVersion = tuple[Any, ...]  # read by catalog.search with the catalog version

_parsed: dict[int, tuple[SynonymsVersion, TermGroups | None]] = {}
_lock = threading.Lock()


def tenant_synonyms(*, tenant: Tenant, version: SynonymsVersion) -> TermGroups | None:
    """The tenant's active synonym groups, parsed; None when it has none."""
    cached = _parsed.get(tenant.pk)
    if cached is not None and cached[0] == version:
        return cached[1]
    rows = SynonymGroup.objects.filter(tenant=tenant, is_active=True).order_by("pk")
    groups = [terms for terms in (row.term_list() for row in rows) if len(terms) >= 2]
    parsed = TermGroups(groups, prefix="@s") if groups else None
    with _lock:
        _parsed[tenant.pk] = (version, parsed)
    return parsed
