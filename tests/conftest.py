"""Two tenants and the owner / teammate / outsider trio (see STYLE.md)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tenants.models import Membership, Tenant
from tenants.scoping import tenant_scope
from tenants.services import member_ensure, membership_set_language
from tests.factories import FACTORIES, TenantFactory

PASSWORD = "pw-for-tests"


@pytest.fixture
def tenant_a(db) -> Tenant:
    return TenantFactory(slug="alpha", name="Alpha Labs")


@pytest.fixture
def tenant_b(db) -> Tenant:
    return TenantFactory(slug="bravo", name="Bravo Sensors")


def _member(tenant: Tenant, email: str, role: str):
    membership, _ = member_ensure(tenant=tenant, email=email, role=role, password=PASSWORD)
    # The trio reads the desk in English, the language the tests' assertions are written in
    # (the tenants speak Spanish, the default; tests/functional/test_desk_i18n.py covers it).
    with tenant_scope(tenant):
        membership_set_language(membership=membership, language="en")
    return membership.user


@pytest.fixture
def owner(tenant_a):
    """Tenant admin of tenant A."""
    return _member(tenant_a, "owner@alpha.example", Membership.Role.TENANT_ADMIN)


@pytest.fixture
def teammate(tenant_a):
    """Sales rep of tenant A."""
    return _member(tenant_a, "rep@alpha.example", Membership.Role.SALES_REP)


@pytest.fixture
def outsider(tenant_b):
    """Tenant admin of tenant B: must never see tenant A's rows."""
    return _member(tenant_b, "owner@bravo.example", Membership.Role.TENANT_ADMIN)


@pytest.fixture
def operator(db, django_user_model):
    return django_user_model.objects.create_superuser(
        "operator@platform.example", "operator@platform.example", PASSWORD
    )


@dataclass
class TenantRows:
    """One row of every tenant-owned model, all in one tenant."""

    tenant: Tenant
    rows: dict

    def __getitem__(self, model):
        return self.rows[model]


def make_rows(tenant: Tenant) -> TenantRows:
    with tenant_scope(tenant):
        rows = {model: factory(tenant=tenant) for model, factory in FACTORIES.items()}
    return TenantRows(tenant=tenant, rows=rows)


@pytest.fixture
def rows_a(tenant_a) -> TenantRows:
    return make_rows(tenant_a)


@pytest.fixture
def rows_b(tenant_b) -> TenantRows:
    return make_rows(tenant_b)


@pytest.fixture
def catalog_index(settings, tmp_path):
    """A fresh Chroma directory for the test; the embedding model stays loaded."""
    from catalog import search
    from catalog.caches import caches_clear

    settings.CHROMA_DIR = tmp_path / "chroma"
    search._lexical_cache.clear()
    caches_clear()
    yield settings.CHROMA_DIR
    search._lexical_cache.clear()
    caches_clear()


@pytest.fixture
def fake_llm(settings):
    """An OpenAI-compatible server on 127.0.0.1 that the agent talks to through the SDK."""
    from tests.fakes.openai_server import FakeLLM

    server = FakeLLM().start()
    settings.LLM_BASE_URL = server.base_url
    settings.LLM_API_KEY = "test-key"
    settings.LLM_MODEL = "deepseek-chat"
    settings.LLM_TIMEOUT = 5.0
    settings.LLM_MAX_RETRIES = 2
    settings.LLM_TURN_TIMEOUT = 30.0
    yield server
    server.stop()


def pytest_collection_modifyitems(items):
    """Every transactional test gets a serialized rollback.

    A transactional test ends with a flush, which wipes what the data migrations wrote
    (the role groups and their permissions) and re-creates the content types. With a
    serialized rollback the flush keeps quiet and the migrated rows are restored, so the
    tests after it see the database as migrations left it, in any order and on any
    database.
    """
    for item in items:
        marker = item.get_closest_marker("django_db")
        if marker is None or not marker.kwargs.get("transaction"):
            continue
        if "serialized_rollback" in marker.kwargs:
            continue
        kwargs = {**marker.kwargs, "serialized_rollback": True}
        item.add_marker(pytest.mark.django_db(*marker.args, **kwargs), append=False)


# One owner per write (tests/write_owners.py) --------------------------------------------


@pytest.fixture(scope="session", autouse=True)
def _write_owner_check():
    from django.db import connections
    from django.db.backends.signals import connection_created

    from tests.write_owners import OwnerCheck, install

    check = OwnerCheck()

    def on_connect(sender, connection, **kwargs):
        install(connection, check)

    connection_created.connect(on_connect, weak=False)
    for connection in connections.all(initialized_only=True):
        install(connection, check)
    yield check
    connection_created.disconnect(on_connect)


@pytest.fixture(autouse=True)
def _writes_by_their_owner(_write_owner_check):
    from tests.write_owners import violations

    violations.clear()
    yield
    found, violations[:] = list(dict.fromkeys(violations)), []
    assert not found, "CRM rows written outside crm's services:\n" + "\n".join(found)
