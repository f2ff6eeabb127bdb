"""Property-based tests of the REST API v1 from its own OpenAPI schema (schemathesis).

Every operation of ``/api/v1/openapi.json`` gets generated requests, valid and invalid
(schemathesis' positive and negative modes), sent in process to the Django WSGI
application with tenant A's key, over a tenant holding one row of every model and a
small catalog. Each answer must not be a server error, must be a status the schema
documents for the operation, with the documented content type and a body that
validates against the documented schema (problem+json for errors).

Examples per operation: ``SCHEMATHESIS_EXAMPLES`` (default 10), so the module runs in
well under two minutes on a shared machine. The counts (operations, cases, failures)
are printed at the end of the module (``pytest -s``).
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from django.db.models import Max
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from quotes.models import Quote, QuoteCounter
from tenants.models import Membership
from tenants.scoping import tenant_scope
from tenants.services import member_ensure
from tests import edges
from tests.conftest import make_rows
from tests.factories.catalog import CATALOG, load

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "10"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
counts: Counter[str] = Counter()
# POST /messages runs the agent's turn in its own threads: the data must be committed
# (conftest gives transactional tests a serialized rollback).
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def api_key(tenant_a, catalog_index, settings) -> str:
    settings.LLM_API_KEY = ""  # POST /messages answers with the catalog fallback
    settings.API_RATE_LIMIT = 0  # the generated requests would exhaust a key
    make_rows(tenant_a)
    load(tenant_a, CATALOG)
    with tenant_scope(tenant_a):  # the factory's quote took a number the counter never gave
        last = Quote.objects.aggregate(last=Max("number"))["last"] or 0
        QuoteCounter.objects.update_or_create(tenant=tenant_a, defaults={"last_number": last})
    member_ensure(tenant=tenant_a, email="rep@alpha.example", role=Membership.Role.SALES_REP)
    return edges.api_key(tenant_a)


# The schema is read from the application itself (no database needed); one test per
# operation, each with its own tenant data.
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_every_operation_conforms_to_its_schema(case: Any, api_key: str) -> None:
    counts[f"operation {case.operation.label}"] += 1
    counts["cases"] += 1
    try:
        case.call_and_validate(headers={"Authorization": f"Bearer {api_key}"}, checks=CHECKS)
    except Exception:
        counts["failures"] += 1
        raise


def test_zz_counts() -> None:
    """Runs last in the module: every operation was exercised; prints the counts."""
    operations = [key for key in counts if key.startswith("operation ")]
    print(
        f"\nschemathesis: {len(operations)} operations, {counts['cases']} cases, "
        f"{counts['failures']} failures"
    )
    if not counts:
        pytest.skip("run with the whole module")
    assert len(operations) == 21
    assert counts["failures"] == 0
