"""Tenant A's scope never sees or changes tenant B's rows, for every tenant-owned model."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.core.exceptions import ValidationError

from crm.models import Contact, Conversation, LeadOpportunity
from tenants.models import CrossTenantReferenceError
from tenants.scoping import scopes_disabled, tenant_scope
from tests.helpers import tenant_owned_models

pytestmark = pytest.mark.django_db
MODELS = tenant_owned_models()


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_scope_a_sees_only_a_rows(model, rows_a, rows_b):
    a_row, b_row = rows_a[model], rows_b[model]
    with tenant_scope(rows_a.tenant):
        visible = set(model.objects.values_list("pk", flat=True))
        assert a_row.pk in visible
        assert b_row.pk not in visible
        assert set(model.all_objects.values_list("pk", flat=True)) == visible
        assert not model.objects.filter(pk=b_row.pk).exists()
        with pytest.raises(model.DoesNotExist):
            model.objects.get(pk=b_row.pk)
        assert model.objects.filter(pk=b_row.pk).update(is_deleted=True) == 0
        assert model.objects.filter(pk=b_row.pk).delete()[0] == 0
        assert model.objects.filter(pk=b_row.pk).hard_delete()[0] == 0
    with tenant_scope(rows_b.tenant):
        b_row.refresh_from_db()
        assert b_row.is_deleted is False


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_saving_another_tenants_row_inside_a_scope_raises(model, rows_a, rows_b):
    b_row = rows_b[model]
    with tenant_scope(rows_a.tenant):
        with pytest.raises(CrossTenantReferenceError):
            b_row.save()
        with pytest.raises(CrossTenantReferenceError):
            b_row.delete()
    with tenant_scope(rows_b.tenant):
        assert model.objects.filter(pk=b_row.pk).exists()


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_async_scope_sees_only_its_tenant(model, rows_a, rows_b):
    async def count_in(tenant):
        with tenant_scope(tenant):
            pks = await sync_to_async(lambda: set(model.objects.values_list("pk", flat=True)))()
            return pks, await model.objects.acount()

    async def both():
        return await asyncio.gather(count_in(rows_a.tenant), count_in(rows_b.tenant))

    # async_to_sync runs the thread-sensitive ORM calls on this test's thread and
    # so on its database connection (and inside its transaction).
    (a_pks, a_count), (b_pks, b_count) = async_to_sync(both)()
    assert rows_a[model].pk in a_pks and rows_b[model].pk not in a_pks
    assert rows_b[model].pk in b_pks and rows_a[model].pk not in b_pks
    assert (a_count, b_count) == (len(a_pks), len(b_pks))


def test_operator_code_sees_all_tenants_only_when_it_says_so(rows_a, rows_b):
    with scopes_disabled():
        tenants = set(Contact.objects.values_list("tenant_id", flat=True))
    assert {rows_a.tenant.pk, rows_b.tenant.pk} <= tenants


def test_a_row_cannot_point_at_another_tenants_row(rows_a, rows_b):
    contact = Contact(
        tenant=rows_a.tenant,
        platform="telegram",
        platform_user_id="x",
        division_id=rows_b[Contact].division_id,
    )
    with tenant_scope(rows_a.tenant):
        with pytest.raises(CrossTenantReferenceError, match="division"):
            contact.save()
        with pytest.raises(ValidationError, match="same tenant"):
            contact.full_clean()
        assert not Contact.objects.filter(platform_user_id="x").exists()

        opportunity = rows_a[LeadOpportunity]
        original_conversation_id = opportunity.conversation_id
        opportunity.conversation = rows_b[Conversation]
        with pytest.raises(CrossTenantReferenceError):
            opportunity.save()
        with pytest.raises(CrossTenantReferenceError):
            opportunity.save(update_fields=["conversation"])
        opportunity.refresh_from_db()
        assert opportunity.conversation_id == original_conversation_id


def test_assigned_rep_must_be_a_member_of_the_tenant(rows_a, owner, outsider):
    conversation = rows_a[Conversation]
    with tenant_scope(rows_a.tenant):
        conversation.assigned_rep = outsider
        with pytest.raises(ValidationError, match="member of this tenant"):
            conversation.full_clean()
        conversation.assigned_rep = owner
        conversation.full_clean()
