"""The three bases on every tenant-owned model, and soft delete / restore / hard delete."""

from __future__ import annotations

import pytest
from django.db import models

from tenants.models import Tenant
from tenants.scoping import tenant_scope
from tests.factories import FACTORIES
from tests.helpers import tenant_owned_models

MODELS = tenant_owned_models()


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_tenant_owned_model_has_tenant_soft_delete_and_audit_fields(model):
    tenant = model._meta.get_field("tenant")
    assert isinstance(tenant, models.ForeignKey)
    assert tenant.related_model is Tenant
    assert tenant.null is False
    assert tenant.db_index is True
    assert isinstance(model._meta.get_field("is_deleted"), models.BooleanField)
    assert model._meta.get_field("deleted_at").null is True
    assert model._meta.get_field("created_at").auto_now_add is True
    assert model._meta.get_field("updated_at").auto_now is True


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_unique_constraint_includes_the_tenant(model):
    for constraint in model._meta.constraints:
        if isinstance(constraint, models.UniqueConstraint) and model.__name__ != "Membership":
            assert "tenant" in constraint.fields, constraint.name


@pytest.mark.django_db
@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_soft_delete_hides_restore_shows_hard_delete_removes(model):
    tenant = Tenant.objects.create(slug="soft", name="Soft")
    with tenant_scope(tenant):
        row = FACTORIES[model](tenant=tenant)
        row.delete()
        row.refresh_from_db()
        assert row.is_deleted is True
        assert row.deleted_at is not None
        assert not model.objects.filter(pk=row.pk).exists()
        assert model.all_objects.filter(pk=row.pk).exists()

        row.restore()
        row.refresh_from_db()
        assert row.is_deleted is False
        assert row.deleted_at is None
        assert model.objects.filter(pk=row.pk).exists()

        row.hard_delete()
        assert not model.all_objects.filter(pk=row.pk).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_queryset_delete_is_soft_and_restorable(model):
    tenant = Tenant.objects.create(slug="bulk", name="Bulk")
    with tenant_scope(tenant):
        row = FACTORIES[model](tenant=tenant)
        count, _ = model.objects.filter(pk=row.pk).delete()
        assert count == 1
        assert model.all_objects.get(pk=row.pk).is_deleted
        assert model.all_objects.filter(pk=row.pk).restore() == 1
        assert model.objects.filter(pk=row.pk).exists()
        model.all_objects.filter(pk=row.pk).hard_delete()
        assert not model.all_objects.filter(pk=row.pk).exists()
