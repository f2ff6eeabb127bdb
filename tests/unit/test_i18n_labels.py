"""Models' and fields' names in the member's language (tenants.i18n.label_model), with the
migrations untouched: a field keeps the name it was declared with in its deconstruction."""

from __future__ import annotations

import pytest
from django.utils import translation

from crm.models import Conversation, LeadOpportunity
from tenants.i18n import label_model
from tenants.models import Membership


def test_fields_and_models_speak_the_active_language():
    with translation.override("es"):
        assert str(Conversation._meta.get_field("assigned_rep").verbose_name) == (
            "comercial asignado"
        )
        assert str(Conversation._meta.get_field("created_at").verbose_name) == "creado el"
        assert str(LeadOpportunity._meta.verbose_name_plural) == "oportunidades"
        assert str(Membership.Role.SALES_REP.label) == "Asesor comercial"
    with translation.override("en"):
        assert str(Conversation._meta.get_field("assigned_rep").verbose_name) == "assigned rep"
        assert str(LeadOpportunity._meta.verbose_name_plural) == "lead opportunities"


def test_the_migrations_keep_the_declared_names():
    _, _, _, kwargs = Conversation._meta.get_field("assigned_rep").deconstruct()
    assert "verbose_name" not in kwargs  # declared without one: no migration changes
    assert "verbose_name" not in Conversation._meta.original_attrs


def test_a_field_that_does_not_exist_is_an_error():
    before = Membership._meta.verbose_name
    with pytest.raises(ValueError, match="Membership has no field colour"):
        label_model(Membership, {"colour": "colour"}, name="changed")
    assert Membership._meta.verbose_name is before  # nothing was changed
