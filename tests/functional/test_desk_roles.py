"""Roles on the desk, enforced on the server: every admin URL and every action of the
catalog, the channels and the members, as a sales rep, as a tenant admin and as an
operator. A refused request also changes nothing (compared row by row)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from catalog.index import get_collection
from catalog.models import CatalogUpload, Product, SynonymGroup
from channels_app.models import ChannelAccount, ConversationRoute, InboundEvent, hash_api_key
from integrations.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from tenants.models import Membership, Tenant
from tenants.scoping import scopes_disabled, tenant_scope
from tests.factories import ChannelAccountFactory

pytestmark = pytest.mark.django_db

DESK_APPS = ("catalog", "channels_app", "integrations", "tenants")
DESK_MODELS = sorted(
    (m for m in admin.site._registry if m._meta.app_label in DESK_APPS),
    key=lambda m: m._meta.label,
)
OK, FOUND, DENIED, NOT_FOUND = 200, 302, 403, 404
GET_ONLY = None

# (model, view) -> {member: (GET status, POST status)}. A test checks that this
# table names every URL those admins have, custom ones included.
ROLE_MATRIX: dict[tuple[type, str], dict[str, tuple[int, int | None]]] = {
    # Reps read the products they recommend, and change nothing.
    (Product, "changelist"): {"teammate": (OK, GET_ONLY), "owner": (OK, GET_ONLY)},
    (Product, "add"): {"teammate": (DENIED, DENIED), "owner": (OK, FOUND)},
    (Product, "change"): {"teammate": (OK, DENIED), "owner": (OK, FOUND)},
    (Product, "delete"): {"teammate": (DENIED, DENIED), "owner": (OK, FOUND)},
    (Product, "history"): {"teammate": (OK, GET_ONLY), "owner": (OK, GET_ONLY)},
    # Uploads: tenant admins only; an upload is a record, never edited.
    # Synonym groups: tenant admins edit them, reps read them.
    (SynonymGroup, "changelist"): {"teammate": (OK, GET_ONLY), "owner": (OK, GET_ONLY)},
    (SynonymGroup, "add"): {"teammate": (DENIED, DENIED), "owner": (OK, FOUND)},
    (SynonymGroup, "change"): {"teammate": (OK, DENIED), "owner": (OK, FOUND)},
    (SynonymGroup, "delete"): {"teammate": (DENIED, DENIED), "owner": (OK, FOUND)},
    (SynonymGroup, "history"): {"teammate": (OK, GET_ONLY), "owner": (OK, GET_ONLY)},
    (CatalogUpload, "changelist"): {"teammate": (DENIED, GET_ONLY), "owner": (OK, GET_ONLY)},
    (CatalogUpload, "add"): {"teammate": (DENIED, DENIED), "owner": (OK, FOUND)},
    (CatalogUpload, "change"): {"teammate": (DENIED, DENIED), "owner": (OK, DENIED)},
    (CatalogUpload, "delete"): {"teammate": (DENIED, DENIED), "owner": (OK, FOUND)},
    (CatalogUpload, "history"): {"teammate": (DENIED, GET_ONLY), "owner": (OK, GET_ONLY)},
    (CatalogUpload, "errors"): {"teammate": (DENIED, GET_ONLY), "owner": (OK, GET_ONLY)},
    # The add keeps the file for its preview (nothing written until "Import"); a preview is
    # its uploader's (an unknown token is a 404; test_admin_catalog_preview.py).
    (CatalogUpload, "preview"): {"teammate": (DENIED, DENIED), "owner": (NOT_FOUND, NOT_FOUND)},
    (CatalogUpload, "sample"): {"teammate": (DENIED, GET_ONLY), "owner": (OK, GET_ONLY)},
    # Channel accounts: tenant admins only.
    (ChannelAccount, "changelist"): {"teammate": (DENIED, GET_ONLY), "owner": (OK, GET_ONLY)},
    (ChannelAccount, "add"): {"teammate": (DENIED, DENIED), "owner": (OK, FOUND)},
    (ChannelAccount, "change"): {"teammate": (DENIED, DENIED), "owner": (OK, FOUND)},
    (ChannelAccount, "delete"): {"teammate": (DENIED, DENIED), "owner": (OK, FOUND)},
    (ChannelAccount, "history"): {"teammate": (DENIED, GET_ONLY), "owner": (OK, GET_ONLY)},
    # Routes are written by the channels, read by everyone.
    (ConversationRoute, "changelist"): {"teammate": (OK, GET_ONLY), "owner": (OK, GET_ONLY)},
    (ConversationRoute, "add"): {"teammate": (DENIED, DENIED), "owner": (DENIED, DENIED)},
    (ConversationRoute, "change"): {"teammate": (OK, DENIED), "owner": (OK, DENIED)},
    (ConversationRoute, "delete"): {"teammate": (DENIED, DENIED), "owner": (DENIED, DENIED)},
    (ConversationRoute, "history"): {"teammate": (OK, GET_ONLY), "owner": (OK, GET_ONLY)},
    # Webhook events are written by the webhooks, read by everyone.
    (InboundEvent, "changelist"): {"teammate": (OK, GET_ONLY), "owner": (OK, GET_ONLY)},
    (InboundEvent, "add"): {"teammate": (DENIED, DENIED), "owner": (DENIED, DENIED)},
    (InboundEvent, "change"): {"teammate": (OK, DENIED), "owner": (OK, DENIED)},
    (InboundEvent, "delete"): {"teammate": (DENIED, DENIED), "owner": (DENIED, DENIED)},
    (InboundEvent, "history"): {"teammate": (OK, GET_ONLY), "owner": (OK, GET_ONLY)},
    # Outbound webhooks: tenant admins only; the delivery log is written by the worker.
    (WebhookEndpoint, "changelist"): {"teammate": (DENIED, GET_ONLY), "owner": (OK, GET_ONLY)},
    (WebhookEndpoint, "add"): {"teammate": (DENIED, DENIED), "owner": (OK, FOUND)},
    (WebhookEndpoint, "change"): {"teammate": (DENIED, DENIED), "owner": (OK, FOUND)},
    (WebhookEndpoint, "delete"): {"teammate": (DENIED, DENIED), "owner": (OK, FOUND)},
    (WebhookEndpoint, "history"): {"teammate": (DENIED, GET_ONLY), "owner": (OK, GET_ONLY)},
    (WebhookDelivery, "changelist"): {"teammate": (DENIED, GET_ONLY), "owner": (OK, GET_ONLY)},
    (WebhookDelivery, "add"): {"teammate": (DENIED, DENIED), "owner": (DENIED, DENIED)},
    (WebhookDelivery, "change"): {"teammate": (DENIED, DENIED), "owner": (OK, DENIED)},
    (WebhookDelivery, "delete"): {"teammate": (DENIED, DENIED), "owner": (DENIED, DENIED)},
    (WebhookDelivery, "history"): {"teammate": (DENIED, GET_ONLY), "owner": (OK, GET_ONLY)},
    (WebhookAttempt, "changelist"): {"teammate": (DENIED, GET_ONLY), "owner": (OK, GET_ONLY)},
    (WebhookAttempt, "add"): {"teammate": (DENIED, DENIED), "owner": (DENIED, DENIED)},
    (WebhookAttempt, "change"): {"teammate": (DENIED, DENIED), "owner": (OK, DENIED)},
    (WebhookAttempt, "delete"): {"teammate": (DENIED, DENIED), "owner": (DENIED, DENIED)},
    (WebhookAttempt, "history"): {"teammate": (DENIED, GET_ONLY), "owner": (OK, GET_ONLY)},
    # Members: tenant admins only.
    (Membership, "changelist"): {"teammate": (DENIED, GET_ONLY), "owner": (OK, GET_ONLY)},
    (Membership, "add"): {"teammate": (DENIED, DENIED), "owner": (OK, FOUND)},
    (Membership, "change"): {"teammate": (DENIED, DENIED), "owner": (OK, FOUND)},
    (Membership, "delete"): {"teammate": (DENIED, DENIED), "owner": (OK, FOUND)},
    (Membership, "history"): {"teammate": (DENIED, GET_ONLY), "owner": (OK, GET_ONLY)},
    # The tenant's own settings: tenant admins change them; operators add and delete.
    (Tenant, "changelist"): {"teammate": (DENIED, GET_ONLY), "owner": (OK, GET_ONLY)},
    (Tenant, "add"): {"teammate": (DENIED, DENIED), "owner": (DENIED, DENIED)},
    (Tenant, "change"): {"teammate": (DENIED, DENIED), "owner": (OK, FOUND)},
    (Tenant, "delete"): {"teammate": (DENIED, DENIED), "owner": (DENIED, DENIED)},
    (Tenant, "history"): {"teammate": (DENIED, GET_ONLY), "owner": (OK, GET_ONLY)},
}

# Form data a member would post: valid, so that a refusal is the permission's doing.
PAYLOADS: dict[type, Callable[[], dict[str, Any]]] = {
    Product: lambda: {
        "sku": "HACK-1",
        "name": "Hackeado",
        "is_active": "on",
        "url": "",
        "price": "",
    },
    SynonymGroup: lambda: {"terms": "pHmetro = medidor de pH", "is_active": "on"},
    CatalogUpload: lambda: {
        "file": SimpleUploadedFile("nuevo.csv", b"sku,name\nX-1,Sonda\n"),
        "full_sync": "on",
    },
    ChannelAccount: lambda: {
        "kind": "telegram",
        "name": "Intruder bot",
        "is_active": "on",
        "bot_token": "1:replaced-token",
        "color": "#0b6e4f",
    },
    ConversationRoute: lambda: {"address": "hijacked"},
    WebhookEndpoint: lambda: {
        "url": "https://crm.intruder.example/hooks",
        "description": "Intruder",
        "events": ["contact.created", "opportunity.updated"],
        "is_active": "on",
    },
    WebhookDelivery: lambda: {"status": "succeeded"},
    WebhookAttempt: lambda: {"status_code": "200"},
    InboundEvent: lambda: {"text": "hijacked"},
    Membership: lambda: {
        "email": "mole@alpha.example",
        "password": "mole-pass-123!",
        "role": "tenant_admin",
    },
    Tenant: lambda: {"name": "Hijacked", "default_language": "en", "persona": "x"},
}


def _admin_views(model: type) -> list[str]:
    prefix = f"{model._meta.app_label}_{model._meta.model_name}_"
    return [
        pattern.name.removeprefix(prefix)
        for pattern in admin.site._registry[model].get_urls()
        if pattern.name
    ]


def _url(model: type, view: str, *args: Any) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def _target(model: type, rows: Any) -> Any:
    return rows.tenant if model is Tenant else rows[model]


# Posts that succeed without writing a row: the upload's add keeps the file for its preview.
FOUND_WITHOUT_WRITE = {(CatalogUpload, "add")}


def _view_url(model: type, view: str, rows: Any) -> str:
    if view in ("changelist", "add", "sample"):
        return _url(model, view)
    if view == "preview":
        return _url(model, view, "unknown-token")
    return _url(model, view, _target(model, rows).pk)


def snapshot(tenant: Tenant) -> dict[str, list[dict[str, Any]]]:
    """Every desk row of the tenant, its members' groups, and its search index size."""
    with scopes_disabled():
        rows: dict[str, Any] = {
            model._meta.label: list(model.all_objects.filter(tenant=tenant).order_by("pk").values())
            for model in DESK_MODELS
            if model is not Tenant
        }
    rows["tenant"] = list(Tenant.objects.filter(pk=tenant.pk).values())
    groups = get_user_model().groups.through.objects
    rows["groups"] = list(groups.filter(user__memberships__tenant=tenant).order_by("pk").values())
    with tenant_scope(tenant):
        rows["index"] = [{"count": get_collection(tenant).count()}]
    return rows


@pytest.fixture
def login(client, request):
    def _login(name: str):
        client.force_login(request.getfixturevalue(name))
        return client

    return _login


def test_the_matrix_names_every_url_of_the_desk_admins():
    assert {Product, CatalogUpload, ChannelAccount, ConversationRoute, Membership, Tenant} <= set(
        DESK_MODELS
    )
    urls = {(model, view) for model in DESK_MODELS for view in _admin_views(model)}
    assert urls == set(ROLE_MATRIX)


@pytest.mark.parametrize("member", ["teammate", "owner"])
@pytest.mark.parametrize(
    ("model", "view"), list(ROLE_MATRIX), ids=lambda v: getattr(v, "__name__", v)
)
def test_role_matrix(model, view, member, login, rows_a, rows_b, catalog_index):
    expected_get, expected_post = ROLE_MATRIX[model, view][member]
    client = login(member)
    url = _view_url(model, view, rows_a)
    before, before_b = snapshot(rows_a.tenant), snapshot(rows_b.tenant)

    assert client.get(url).status_code == expected_get
    if expected_post is not None:
        data = {"post": "yes"} if view == "delete" else PAYLOADS[model]()
        response = client.post(url, data)
        errors = response.context and response.context.get("errors")
        assert response.status_code == expected_post, errors

    changed = snapshot(rows_a.tenant) != before
    assert changed is (expected_post == FOUND and (model, view) not in FOUND_WITHOUT_WRITE)
    assert snapshot(rows_b.tenant) == before_b


ACTIONS = [
    (model, name)
    for model in DESK_MODELS
    for _, name, _ in admin.site._registry[model]._get_base_actions()
]

# What each action does when a tenant admin runs it on a row of their tenant.
OWNER_ACTION_EFFECT = {
    (Product, "delete_selected"): "deleted",
    (Product, "restore_selected"): "restored",
    (Product, "reindex_selected"): "reindexed",
    (Product, "hard_delete_selected"): "refused",
    (SynonymGroup, "delete_selected"): "deleted",
    (SynonymGroup, "restore_selected"): "restored",
    (SynonymGroup, "hard_delete_selected"): "refused",
    (CatalogUpload, "delete_selected"): "deleted",
    (CatalogUpload, "restore_selected"): "restored",
    (CatalogUpload, "hard_delete_selected"): "refused",
    (ChannelAccount, "delete_selected"): "deleted",
    (ChannelAccount, "restore_selected"): "restored",
    (ChannelAccount, "rotate_api_key"): "rotated",
    (ChannelAccount, "hard_delete_selected"): "refused",
    (ConversationRoute, "delete_selected"): "refused",
    (ConversationRoute, "restore_selected"): "refused",
    (ConversationRoute, "hard_delete_selected"): "refused",
    (InboundEvent, "delete_selected"): "refused",
    (InboundEvent, "restore_selected"): "refused",
    (InboundEvent, "hard_delete_selected"): "refused",
    (WebhookEndpoint, "delete_selected"): "deleted",
    (WebhookEndpoint, "restore_selected"): "restored",
    (WebhookEndpoint, "hard_delete_selected"): "refused",
    (WebhookEndpoint, "enable_selected"): "enabled",
    (WebhookEndpoint, "rotate_secret"): "secret rotated",
    (WebhookDelivery, "delete_selected"): "refused",
    (WebhookDelivery, "redeliver"): "redelivered",
    (WebhookAttempt, "delete_selected"): "refused",
    (WebhookAttempt, "restore_selected"): "refused",
    (WebhookAttempt, "hard_delete_selected"): "refused",
    (Membership, "delete_selected"): "deleted",
    (Membership, "restore_selected"): "restored",
    (Membership, "hard_delete_selected"): "refused",
    # E-mails a set-password link to members without a password; writes no row.
    (Membership, "send_password_link"): "unchanged",
    (Tenant, "delete_selected"): "refused",
}


def test_every_action_is_classified():
    assert set(ACTIONS) == set(OWNER_ACTION_EFFECT)


def _action_target(model: type, rows: Any, action: str) -> Any:
    """The row an action runs on: an API account for key rotation, a deleted row to restore."""
    tenant = rows.tenant
    target = _target(model, rows)
    if model is ChannelAccount:
        with tenant_scope(tenant):
            target = ChannelAccountFactory(tenant=tenant, kind="api", name="CRM")
            target.set_api_key()
            target.save()
    if model is WebhookEndpoint and action == "enable_selected":
        with tenant_scope(tenant):
            model.objects.filter(pk=target.pk).update(
                disabled_at=timezone.now(), disabled_reason="5 deliveries in a row failed"
            )
    if model is WebhookDelivery:  # a redelivery goes to a sending endpoint only
        with tenant_scope(tenant):
            WebhookEndpoint.objects.filter(pk=target.endpoint_id).update(is_active=True)
    if action == "restore_selected":
        with tenant_scope(tenant):
            model.all_objects.filter(pk=target.pk).delete()
    return target


def _run_action(client: Any, model: type, action: str, *rows: Any) -> Any:
    query = "" if model is Tenant else "?trash=all"
    return client.post(
        _url(model, "changelist") + query,
        {"action": action, "_selected_action": [r.pk for r in rows], "post": "yes"},
        follow=True,
    )


@pytest.mark.parametrize(("model", "action"), ACTIONS, ids=lambda v: getattr(v, "__name__", v))
def test_a_rep_running_any_action_changes_nothing(model, action, login, rows_a, catalog_index):
    client = login("teammate")
    target = _action_target(model, rows_a, action)
    before = snapshot(rows_a.tenant)
    _run_action(client, model, action, target)
    assert snapshot(rows_a.tenant) == before


@pytest.mark.parametrize(("model", "action"), ACTIONS, ids=lambda v: getattr(v, "__name__", v))
def test_a_tenant_admin_runs_the_actions_on_their_tenant_only(
    model, action, login, rows_a, rows_b, catalog_index
):
    client = login("owner")
    target = _action_target(model, rows_a, action)
    other = _action_target(model, rows_b, action)
    before, before_b = snapshot(rows_a.tenant), snapshot(rows_b.tenant)
    old_hash = getattr(target, "api_key_hash", "")
    old_secret = getattr(target, "secret", "")

    response = _run_action(client, model, action, target, other)

    assert snapshot(rows_b.tenant) == before_b
    effect = OWNER_ACTION_EFFECT[model, action]
    if effect in ("refused", "unchanged"):
        assert snapshot(rows_a.tenant) == before
        return
    with tenant_scope(rows_a.tenant):
        target = model.all_objects.get(pk=target.pk)
    if effect == "deleted":
        assert target.is_deleted
    elif effect == "restored":
        assert not target.is_deleted
    elif effect == "reindexed":
        with tenant_scope(rows_a.tenant):
            assert get_collection(rows_a.tenant).get(ids=[str(target.pk)])["ids"]
    elif effect == "rotated":
        key = re.search(r"sk_[A-Za-z0-9_-]+", response.content.decode()).group()
        assert target.api_key_hash not in (old_hash, "")
        assert target.api_key_hash == hash_api_key(key)
        assert key not in str(snapshot(rows_a.tenant))  # only the hash is stored
    elif effect == "enabled":
        assert (target.disabled_at, target.disabled_reason) == (None, "")
    elif effect == "secret rotated":
        assert target.secret not in ("", old_secret)
        assert target.secret in response.content.decode()  # shown once, in the message
    elif effect == "redelivered":
        assert (target.status, target.next_attempt_at is not None) == ("pending", True)


def test_a_tenant_admin_cannot_delete_or_demote_themselves(login, owner, rows_a):
    client = login("owner")
    with tenant_scope(rows_a.tenant):
        own = Membership.objects.get(user=owner)
    before = snapshot(rows_a.tenant)
    response = _run_action(client, Membership, "delete_selected", own, rows_a[Membership])
    assert response.status_code == DENIED
    assert client.post(_url(Membership, "delete", own.pk), {"post": "yes"}).status_code == DENIED
    assert snapshot(rows_a.tenant) == before
    response = client.post(_url(Membership, "change", own.pk), {"role": "sales_rep"})
    assert response.status_code == FOUND  # the role is read-only on one's own row
    own.refresh_from_db()
    assert own.role == Membership.Role.TENANT_ADMIN
    assert list(owner.groups.values_list("name", flat=True)) == ["Tenant admins"]


def test_operators_see_every_tenant_with_a_tenant_filter(login, rows_a, rows_b):
    client = login("operator")
    for model in DESK_MODELS:
        response = client.get(_url(model, "changelist"))
        assert response.status_code == OK
        listed = set(response.context["cl"].result_list)
        assert {_target(model, rows_a), _target(model, rows_b)} <= listed
        if model is not Tenant:
            filters = [spec.title for spec in response.context["cl"].filter_specs]
            assert "tenant" in filters
            filtered = client.get(
                _url(model, "changelist") + f"?tenant__id__exact={rows_b.tenant.pk}"
            )
            assert {row.tenant_id for row in filtered.context["cl"].result_list} == {
                rows_b.tenant.pk
            }


@pytest.mark.parametrize("view", ["change", "delete", "history"])
def test_another_tenants_settings_are_404(view, login, rows_a, rows_b):
    client = login("owner")
    before_b = snapshot(rows_b.tenant)
    url = _url(Tenant, view, rows_b.tenant.pk)
    assert client.get(url).status_code == 404
    data = {"post": "yes"} if view == "delete" else PAYLOADS[Tenant]()
    assert client.post(url, data).status_code == 404
    assert snapshot(rows_b.tenant) == before_b


def test_another_tenants_upload_errors_are_404(login, rows_a, rows_b):
    client = login("owner")
    assert client.get(_url(CatalogUpload, "errors", rows_b[CatalogUpload].pk)).status_code == 404
    assert client.get(_url(CatalogUpload, "errors", rows_a[CatalogUpload].pk)).status_code == OK


def test_role_groups_carry_the_roles(db):
    """The groups created by the migrations: what a role may do is a Django permission."""
    from django.contrib.auth.models import Group

    def perms(name: str) -> set[str]:
        group = Group.objects.get(name=name)
        return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}

    admins, reps = perms("Tenant admins"), perms("Sales reps")
    managed = [
        f"{app}.{action}_{model}"
        for app, model in [
            ("catalog", "product"),
            ("catalog", "catalogupload"),
            ("channels_app", "channelaccount"),
            ("tenants", "membership"),
        ]
        for action in ("add", "change", "delete")
    ]
    assert set(managed) <= admins
    assert not set(managed) & reps
    assert reps - admins == set()  # admins do everything reps do
    assert "catalog.view_product" in reps
    assert "tenants.change_tenant" in admins and "tenants.change_tenant" not in reps
