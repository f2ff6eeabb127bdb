"""The B2B hierarchy and the chat record on a real database."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from crm.models import Company, CompanyDivision, Contact, Conversation, Message, Platform
from crm.selectors import conversation_history
from crm.services import (
    company_ensure,
    contact_get_or_create_for_platform,
    contact_link_division,
    conversation_open,
    division_ensure,
    message_add,
)
from tenants.scoping import tenant_scope
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db


def test_create_and_link_b2b_hierarchy(tenant_a):
    with tenant_scope(tenant_a):
        company = company_ensure(
            tenant=tenant_a, name="Aguas del Valle", fiscal_id="800-1", crm_company_id="C-1"
        )
        lab = division_ensure(tenant=tenant_a, company=company, name="Lab Aguas")
        purchasing = division_ensure(tenant=tenant_a, company=company, name="Compras")
        contact, created = contact_get_or_create_for_platform(
            tenant=tenant_a, platform=Platform.TELEGRAM, platform_user_id="42", full_name="Laura"
        )
        assert created and contact.division is None and contact.company is None

        contact_link_division(contact=contact, division=lab)

        contact = Contact.objects.select_related("division__company").get(pk=contact.pk)
        assert contact.division == lab
        assert contact.company == company
        assert set(company.divisions.values_list("name", flat=True)) == {"Lab Aguas", "Compras"}
        assert list(lab.contacts.all()) == [contact]
        assert list(purchasing.contacts.all()) == []
        # ensure-functions are idempotent: they find what exists by CRM id, fiscal id or name
        assert company_ensure(tenant=tenant_a, name="x", crm_company_id="C-1") == company
        assert company_ensure(tenant=tenant_a, name="aguas del valle") == company
        assert division_ensure(tenant=tenant_a, company=company, name="lab aguas") == lab
        assert Company.objects.count() == 1
        assert CompanyDivision.objects.count() == 2


def test_chat_flow_open_save_and_read_history_in_order(tenant_a):
    with tenant_scope(tenant_a):
        contact = ContactFactory(tenant=tenant_a)
        conversation = conversation_open(
            tenant=tenant_a, contact=contact, channel=Platform.TELEGRAM
        )
        assert conversation.status == Conversation.Status.ACTIVE
        assert conversation_open(tenant=tenant_a, contact=contact, channel=Platform.TELEGRAM) == (
            conversation
        )

        texts = [
            (Message.Role.USER, "Hola, necesito un turbidímetro"),
            (Message.Role.ASSISTANT, "¿Qué rango de NTU necesita?"),
            (Message.Role.USER, "0 a 100 NTU"),
            (Message.Role.AGENT, "Soy Marta, del equipo comercial."),
        ]
        for role, content in texts:
            message_add(conversation=conversation, role=role, content=content)

        history = conversation_history(conversation=conversation)
        assert [(m.role, m.content) for m in history] == texts
        assert history[0].delivery_status == Message.Delivery.RECEIVED
        assert history[1].delivery_status == Message.Delivery.PENDING
        assert [m.content for m in conversation_history(conversation=conversation, limit=2)] == [
            "0 a 100 NTU",
            "Soy Marta, del equipo comercial.",
        ]
        conversation.refresh_from_db()
        assert conversation.last_activity_at == history[-1].created_at

        conversation.status = Conversation.Status.CLOSED
        conversation.save()
        reopened = conversation_open(tenant=tenant_a, contact=contact, channel=Platform.TELEGRAM)
        assert reopened.pk != conversation.pk


def test_platform_identity_is_unique_per_tenant_not_globally(tenant_a, tenant_b):
    with tenant_scope(tenant_a):
        ContactFactory(tenant=tenant_a, platform=Platform.WHATSAPP, platform_user_id="5730011")
        with pytest.raises(IntegrityError), transaction.atomic():
            ContactFactory(tenant=tenant_a, platform=Platform.WHATSAPP, platform_user_id="5730011")
        # the same id on another platform is another person
        ContactFactory(tenant=tenant_a, platform=Platform.TELEGRAM, platform_user_id="5730011")
        # unknown identities (NULL) never collide
        ContactFactory(tenant=tenant_a, platform=Platform.API, platform_user_id=None)
        ContactFactory(tenant=tenant_a, platform=Platform.API, platform_user_id=None)
    with tenant_scope(tenant_b):
        ContactFactory(tenant=tenant_b, platform=Platform.WHATSAPP, platform_user_id="5730011")


def test_crm_ids_are_unique_per_tenant_when_set(tenant_a, tenant_b):
    with tenant_scope(tenant_a):
        ContactFactory(tenant=tenant_a, crm_contact_id="P-1")
        ContactFactory(tenant=tenant_a, crm_contact_id=None)
        ContactFactory(tenant=tenant_a, crm_contact_id=None)
        with pytest.raises(IntegrityError), transaction.atomic():
            ContactFactory(tenant=tenant_a, crm_contact_id="P-1")
    with tenant_scope(tenant_b):
        ContactFactory(tenant=tenant_b, crm_contact_id="P-1")


def test_soft_deleted_contact_is_restored_not_duplicated(tenant_a):
    with tenant_scope(tenant_a):
        contact, _ = contact_get_or_create_for_platform(
            tenant=tenant_a, platform=Platform.TELEGRAM, platform_user_id="77"
        )
        contact.delete()
        again, created = contact_get_or_create_for_platform(
            tenant=tenant_a, platform=Platform.TELEGRAM, platform_user_id="77"
        )
        assert not created and again.pk == contact.pk and not again.is_deleted


def test_soft_deleted_rows_disappear_from_reverse_relations(tenant_a):
    with tenant_scope(tenant_a):
        contact = ContactFactory(tenant=tenant_a)
        conversation = conversation_open(tenant=tenant_a, contact=contact, channel=Platform.WIDGET)
        kept = message_add(conversation=conversation, role=Message.Role.USER, content="uno")
        gone = message_add(conversation=conversation, role=Message.Role.USER, content="dos")
        gone.delete()
        assert list(conversation.messages.all()) == [kept]
        assert Message.all_objects.filter(conversation=conversation).count() == 2


def test_a_message_after_a_recent_close_reopens_and_after_a_long_one_starts_anew(
    tenant_a, settings
):
    from datetime import timedelta

    from django.utils import timezone

    from crm.services import conversation_close

    settings.CONVERSATION_REOPEN_HOURS = 24
    with tenant_scope(tenant_a):
        contact = ContactFactory(tenant=tenant_a)
        first = conversation_open(tenant=tenant_a, contact=contact, channel=Platform.WHATSAPP)
        conversation_close(conversation=first, summary="Cotizó un turbidímetro")
        again = conversation_open(tenant=tenant_a, contact=contact, channel=Platform.WHATSAPP)
        assert again.pk == first.pk and again.status == Conversation.Status.ACTIVE
        assert again.closed_at is None

        conversation_close(conversation=again)
        Conversation.objects.filter(pk=first.pk).update(
            closed_at=timezone.now() - timedelta(hours=25)
        )
        fresh = conversation_open(tenant=tenant_a, contact=contact, channel=Platform.WHATSAPP)
        assert fresh.pk != first.pk and fresh.status == Conversation.Status.ACTIVE
        first.refresh_from_db()
        assert first.status == Conversation.Status.CLOSED
        assert first.summary == "Cotizó un turbidímetro"
