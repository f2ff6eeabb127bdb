"""The admin as a member of tenant A: tenant B's objects cannot be listed, opened,
changed, deleted, picked or autocompleted. One parametrised matrix covers every
tenant-owned model registered in the admin."""

from __future__ import annotations

import json

import pytest
from django.contrib import admin
from django.urls import reverse

from agent.models import LLMCall
from catalog.models import CatalogUpload, Product, SynonymGroup
from channels_app.models import ChannelAccount, ConversationRoute, InboundEvent
from crm.models import AuditEntry, CompanyDivision, Contact, Conversation, LeadOpportunity
from desk.models import ConversationReadMark
from integrations.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from quotes.models import Quote, QuoteLine
from tenants.models import Membership
from tenants.scoping import scopes_disabled, tenant_scope
from tests.helpers import tenant_owned_models

pytestmark = pytest.mark.django_db

ADMIN_MODELS = [m for m in tenant_owned_models() if m in admin.site._registry]
MEMBERS = ["owner", "teammate"]


def test_every_tenant_owned_model_is_in_the_admin():
    assert set(ADMIN_MODELS) == set(tenant_owned_models())


def _url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


# Sales reps do not manage members and do not see catalog uploads (they read products).
# Nor outbound webhooks (endpoints, their delivery log).
REP_HIDDEN = {
    Membership,
    CatalogUpload,
    ChannelAccount,
    WebhookEndpoint,
    WebhookDelivery,
    WebhookAttempt,
}


# ...and read the catalog without changing it; LLM call records are read-only for all.
READ_ONLY_FOR = {
    Product: {"teammate"},
    SynonymGroup: {"teammate"},
    LLMCall: {"owner", "teammate"},
    ConversationRoute: {"owner", "teammate"},
    InboundEvent: {"owner", "teammate"},
    ConversationReadMark: {"owner", "teammate"},  # the desk writes them, members read
    AuditEntry: {"owner", "teammate"},
    WebhookDelivery: {"owner", "teammate"},
    WebhookAttempt: {"owner", "teammate"},
    Quote: {"owner", "teammate"},  # rejected, never deleted
    QuoteLine: {"owner", "teammate"},  # edited on the quote's page, by its services
}


def _can_view(member_name, model):
    return not (member_name == "teammate" and model in REP_HIDDEN)


def _own_row_status(member_name, model, view):
    read_only = member_name in READ_ONLY_FOR.get(model, ())
    return 403 if read_only and view == "delete" else 200


@pytest.fixture
def login(client, request):
    def _login(name):
        user = request.getfixturevalue(name)
        client.force_login(user)
        return client

    return _login


@pytest.mark.parametrize("member", MEMBERS)
@pytest.mark.parametrize("model", ADMIN_MODELS, ids=lambda m: m.__name__)
def test_changelist_lists_only_own_tenant(model, member, login, rows_a, rows_b):
    client = login(member)
    for query in ("", "?trash=all", "?trash=only"):
        response = client.get(_url(model, "changelist") + query)
        if not _can_view(member, model):
            assert response.status_code == 403
            return
        assert response.status_code == 200
        listed = {obj.pk for obj in response.context["cl"].result_list}
        assert rows_b[model].pk not in listed
        if query != "?trash=only":
            assert rows_a[model].pk in listed


@pytest.mark.parametrize("member", MEMBERS)
@pytest.mark.parametrize("view", ["change", "delete", "history"])
@pytest.mark.parametrize("model", ADMIN_MODELS, ids=lambda m: m.__name__)
def test_other_tenants_object_is_404_and_untouched(model, view, member, login, rows_a, rows_b):
    client = login(member)
    b_row = rows_b[model]
    before = b_row.updated_at
    assert client.get(_url(model, view, b_row.pk)).status_code in (404, 403)
    assert client.post(_url(model, view, b_row.pk), {"post": "yes"}).status_code in (404, 403)
    if _can_view(member, model):
        assert client.get(_url(model, view, b_row.pk)).status_code == 404
        own = client.get(_url(model, view, rows_a[model].pk))
        assert own.status_code == _own_row_status(member, model, view)
    with tenant_scope(rows_b.tenant):
        b_row = model.all_objects.get(pk=b_row.pk)
    assert b_row.is_deleted is False
    assert b_row.updated_at == before


@pytest.mark.parametrize("member", MEMBERS)
@pytest.mark.parametrize("model", ADMIN_MODELS, ids=lambda m: m.__name__)
def test_bulk_actions_ignore_other_tenants_ids(model, member, login, rows_a, rows_b):
    client = login(member)
    b_row = rows_b[model]
    for action in ("delete_selected", "restore_selected"):
        client.post(
            _url(model, "changelist"),
            {"action": action, "_selected_action": [b_row.pk], "post": "yes"},
        )
    with tenant_scope(rows_b.tenant):
        assert model.objects.filter(pk=b_row.pk).exists()


AUTOCOMPLETE_CASES = [
    (model_admin.model, field)
    for model_admin in admin.site._registry.values()
    for field in getattr(model_admin, "autocomplete_fields", ())
    if model_admin.model in ADMIN_MODELS
]


@pytest.mark.parametrize("member", MEMBERS)
@pytest.mark.parametrize(
    ("model", "field"), AUTOCOMPLETE_CASES, ids=lambda v: getattr(v, "__name__", v)
)
def test_autocomplete_offers_only_own_tenant(model, field, member, login, rows_a, rows_b):
    client = login(member)
    target = model._meta.get_field(field).related_model
    response = client.get(
        reverse("admin:autocomplete"),
        {
            "app_label": model._meta.app_label,
            "model_name": model._meta.model_name,
            "field_name": field,
            "term": "",
        },
    )
    assert response.status_code == 200
    ids = {int(item["id"]) for item in json.loads(response.content)["results"]}
    assert rows_b[target].pk not in ids
    assert rows_a[target].pk in ids


@pytest.mark.parametrize("member", MEMBERS)
def test_picking_another_tenants_object_by_id_is_rejected(member, login, rows_a, rows_b):
    client = login(member)
    response = client.post(
        _url(Contact, "add"),
        {
            "full_name": "Intruso",
            "platform": "telegram",
            "platform_user_id": "999",
            "division": rows_b[CompanyDivision].pk,
        },
    )
    assert response.status_code == 200
    assert "division" in response.context["adminform"].form.errors
    with scopes_disabled():
        assert not Contact.objects.filter(platform_user_id="999").exists()


def test_rep_choices_are_the_tenants_members(login, rows_a, owner, teammate, outsider):
    client = login("owner")
    response = client.get(_url(Conversation, "change", rows_a[Conversation].pk))
    choices = response.context["adminform"].form.fields["assigned_rep"].queryset
    assert set(choices) >= {owner, teammate}
    assert outsider not in set(choices)
    response = client.post(
        _url(LeadOpportunity, "change", rows_a[LeadOpportunity].pk),
        {
            "contact": rows_a[LeadOpportunity].contact_id,
            "status": "qualified",
            "problem_statement": "x",
            "assigned_rep": outsider.pk,
            "recommendations-TOTAL_FORMS": "0",
            "recommendations-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "assigned_rep" in response.context["adminform"].form.errors
