"""The request scope: members get their tenant, operators see all, others get none,
on the sync and the async path alike."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse
from django.test import AsyncRequestFactory, RequestFactory

from crm.models import Company
from tenants.middleware import TenantScopeMiddleware
from tenants.scoping import ScopeError, active_tenant, scopes_are_disabled

pytestmark = pytest.mark.django_db


def _seen():
    try:
        names = sorted(Company.objects.values_list("name", flat=True))
    except ScopeError:
        names = None
    return {"tenant": active_tenant(), "disabled": scopes_are_disabled(), "companies": names}


def _sync_request(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def _async_request(user):
    request = AsyncRequestFactory().get("/admin/")

    async def auser():
        return user

    request.auser = auser
    request.user = user
    return request


@pytest.fixture
def companies(rows_a, rows_b):
    return rows_a[Company].name, rows_b[Company].name


def _sync_run(user):
    seen = {}

    def view(request):
        seen.update(_seen())
        return HttpResponse()

    TenantScopeMiddleware(view)(_sync_request(user))
    return seen


def _async_run(user):
    seen = {}

    async def view(request):
        from asgiref.sync import sync_to_async

        seen.update(await sync_to_async(_seen)())
        return HttpResponse()

    middleware = TenantScopeMiddleware(view)
    async_to_sync(middleware)(_async_request(user))
    return seen


@pytest.mark.parametrize("run", [_sync_run, _async_run], ids=["sync", "async"])
def test_member_gets_their_tenant(run, owner, tenant_a, companies):
    seen = run(owner)
    assert seen["tenant"] == tenant_a
    assert companies[0] in seen["companies"] and companies[1] not in seen["companies"]


@pytest.mark.parametrize("run", [_sync_run, _async_run], ids=["sync", "async"])
def test_operator_sees_every_tenant(run, operator, companies):
    seen = run(operator)
    assert seen["disabled"] is True
    assert set(companies) <= set(seen["companies"])


@pytest.mark.parametrize("run", [_sync_run, _async_run], ids=["sync", "async"])
def test_anonymous_gets_no_scope_and_queries_fail_closed(run, companies):
    seen = run(AnonymousUser())
    assert seen == {"tenant": None, "disabled": False, "companies": None}
