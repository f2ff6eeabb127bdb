"""What both benchmark scripts share: a throwaway Django set-up and the catalog import.

Each run gets its own temporary folder holding a fresh SQLite database (migrated here) and a
fresh Chroma directory, under the test settings; the project's ``db.sqlite3`` and ``chroma/``
are never opened.
"""

from __future__ import annotations

import io
import math
import os
import platform
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from catalog.services import ImportSummary
    from tenants.models import Tenant


def setup_django(workdir: Path) -> None:
    """Django on a new SQLite file and Chroma directory inside ``workdir``."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings_test"
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.DEBUG = False  # no query log
    settings.CHROMA_DIR = workdir / "chroma"
    assert Path(settings.DATABASES["default"]["NAME"]).parent == workdir
    call_command("migrate", verbosity=0)


def new_tenant(slug: str) -> Tenant:
    from tenants.services import tenant_ensure

    tenant, _ = tenant_ensure(slug=slug, name=f"Benchmark {slug}")
    return tenant


def import_file(*, tenant: Tenant, data: bytes, filename: str) -> tuple[ImportSummary, float]:
    """Run the real ``catalog_import`` on the file; the summary and the seconds it took."""
    from catalog.services import catalog_import
    from tenants.scoping import tenant_scope

    with tenant_scope(tenant):
        started = time.perf_counter()
        summary = catalog_import(tenant=tenant, fileobj=io.BytesIO(data), filename=filename)
        return summary, time.perf_counter() - started


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100), nearest-rank."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def machine() -> str:
    import torch

    return (
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"torch {torch.__version__} ({torch.get_num_threads()} threads)"
    )
