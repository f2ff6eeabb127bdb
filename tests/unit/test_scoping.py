"""An unscoped query on any tenant-owned model raises, before reaching the database.

These tests carry no database mark: pytest-django would fail them with its own
error if a query reached the database, so a pass means the scope check fired first.
"""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import async_to_sync, sync_to_async

from crm.models import Company, Contact, Conversation, LeadOpportunity, Message
from tenants.models import Membership, Tenant
from tenants.scoping import (
    ScopeError,
    TenantScopedManager,
    active_tenant,
    current_tenant,
    scopes_are_disabled,
    scopes_disabled,
    tenant_scope,
)
from tests.factories import FACTORIES
from tests.helpers import tenant_owned_models

MODELS = tenant_owned_models()

UNSCOPED_QUERIES = {
    "iterate": lambda m: list(m.objects.all()),
    "iterate_manager": lambda m: list(m.objects.all().iterator()),
    "len": lambda m: len(m.objects.all()),
    "bool": lambda m: bool(m.objects.all()),
    "count": lambda m: m.objects.count(),
    "exists": lambda m: m.objects.exists(),
    "filter_exists": lambda m: m.objects.filter(pk=1).exists(),
    "exclude": lambda m: list(m.objects.exclude(pk=1)),
    "get": lambda m: m.objects.get(pk=1),
    "first": lambda m: m.objects.first(),
    "last": lambda m: m.objects.last(),
    "index": lambda m: m.objects.all()[0],
    "slice": lambda m: list(m.objects.all()[:5]),
    "values": lambda m: list(m.objects.values("pk")),
    "values_list": lambda m: list(m.objects.values_list("pk", flat=True)),
    "in_bulk": lambda m: m.objects.in_bulk([1]),
    "aggregate": lambda m: m.objects.aggregate(
        n=__import__("django.db.models").db.models.Count("pk")
    ),
    "update": lambda m: m.objects.update(is_deleted=False),
    "delete": lambda m: m.objects.all().delete(),
    "hard_delete": lambda m: m.objects.all().hard_delete(),
    "restore": lambda m: m.objects.all().restore(),
    "get_or_create": lambda m: m.objects.get_or_create(pk=1),
    "distinct_select_related": lambda m: list(m.objects.select_related("tenant").distinct()),
    "raw": lambda m: list(m.objects.raw(f"SELECT * FROM {m._meta.db_table}")),
    "all_objects": lambda m: list(m.all_objects.all()),
    "all_objects_exists": lambda m: m.all_objects.exists(),
    "all_objects_count": lambda m: m.all_objects.count(),
}


def test_every_tenant_owned_model_is_found():
    names = {m.__name__ for m in MODELS}
    assert {
        "Membership",
        "Company",
        "CompanyDivision",
        "Contact",
        "Conversation",
        "Message",
        "LeadOpportunity",
        "OpportunityProductRecommendation",
    } <= names


def test_every_tenant_owned_model_has_a_factory():
    assert set(MODELS) == set(FACTORIES)


@pytest.mark.parametrize("query", sorted(UNSCOPED_QUERIES))
@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_unscoped_query_raises(model, query):
    with pytest.raises(ScopeError, match="no tenant scope"):
        UNSCOPED_QUERIES[query](model)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_unscoped_async_queries_raise(model):
    async def run():
        with pytest.raises(ScopeError):
            await model.objects.acount()
        with pytest.raises(ScopeError):
            await model.objects.aget(pk=1)
        with pytest.raises(ScopeError):
            await model.objects.aexists()
        with pytest.raises(ScopeError):
            [row async for row in model.objects.all()]

    asyncio.run(run())


def test_reverse_relation_managers_are_scoped_too():
    contact = Contact(pk=1, tenant_id=1)
    conversation = Conversation(pk=1, tenant_id=1)
    with pytest.raises(ScopeError):
        list(contact.conversations.all())
    with pytest.raises(ScopeError):
        conversation.messages.count()
    with pytest.raises(ScopeError):
        contact.opportunities.exists()


def test_forms_built_without_scope_fail_only_when_evaluated():
    # ModelChoiceFields are built at import time; building must not raise.
    queryset = Message.objects.filter(role="user").order_by("pk").none()
    with pytest.raises(ScopeError):
        list(queryset)


def test_managers_are_scoped_and_split_deleted_rows():
    for model in MODELS:
        assert isinstance(model._default_manager, TenantScopedManager), model
        assert model._default_manager.name == "objects"
        assert model.objects.include_deleted is False
        assert model.all_objects.include_deleted is True


def test_tenant_scope_refuses_none_and_unsaved_tenants():
    with pytest.raises(ScopeError), tenant_scope(None):  # type: ignore[arg-type]
        pass
    with pytest.raises(ScopeError), tenant_scope(Tenant(slug="unsaved")):
        pass


def test_scope_state_is_entered_and_left():
    tenant = Tenant(pk=7, slug="seven")
    assert active_tenant() is None
    with pytest.raises(ScopeError):
        current_tenant()
    with tenant_scope(tenant):
        assert current_tenant() is tenant
        with scopes_disabled():
            assert scopes_are_disabled()
            assert active_tenant() is None
        assert current_tenant() is tenant
    assert active_tenant() is None
    assert not scopes_are_disabled()


def test_scope_follows_sync_to_async_and_back():
    tenant = Tenant(pk=3, slug="three")

    async def in_async():
        return await sync_to_async(current_tenant)()

    with tenant_scope(tenant):
        assert async_to_sync(in_async)() is tenant


def test_concurrent_tasks_keep_their_own_scope():
    tenants = [Tenant(pk=n, slug=f"t{n}") for n in range(1, 6)]

    async def worker(tenant):
        with tenant_scope(tenant):
            await asyncio.sleep(0.01)
            seen_here = current_tenant()
            seen_in_thread = await sync_to_async(current_tenant)()
            return seen_here, seen_in_thread

    async def main():
        return await asyncio.gather(*(worker(t) for t in tenants))

    for tenant, (here, in_thread) in zip(tenants, asyncio.run(main()), strict=True):
        assert here is tenant
        assert in_thread is tenant


def test_membership_and_crm_models_use_the_base():
    for model in (Membership, Company, LeadOpportunity):
        assert model in MODELS
