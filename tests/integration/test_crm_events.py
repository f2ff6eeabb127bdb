"""crm's services: which domain events each publishes, and the audit entry it writes."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from django.core.exceptions import PermissionDenied
from django.db import transaction

from crm.audit import Actor
from crm.events import DomainEvent, event_publish, event_subscribe
from crm.models import AuditEntry, Conversation, LeadOpportunity, Platform
from crm.services import (
    contact_get_or_create_for_platform,
    contact_update,
    contact_upsert_from_crm,
    conversation_assign,
    conversation_close,
    conversation_flag,
    conversation_hand_back,
    conversation_hand_off,
    conversation_open,
    conversation_take_over,
    opportunity_assign,
    opportunity_register,
    opportunity_status_set,
    recommendation_record,
)
from tenants.scoping import tenant_scope
from tests.factories import ContactFactory, ConversationFactory, ProductFactory

pytestmark = pytest.mark.django_db

AGENT = Actor.agent()
CRM = Actor.integration("CRM API (HubSpot)")


@pytest.fixture
def events(django_capture_on_commit_callbacks):
    """The events published, as they reach a subscriber after the commit."""
    received: list[DomainEvent] = []
    unsubscribe = event_subscribe(received.append)

    @contextmanager
    def capture():
        received.clear()
        with django_capture_on_commit_callbacks(execute=True):
            yield received

    yield capture
    unsubscribe()


def types(received: list[DomainEvent]) -> list[str]:
    return [e.type for e in received]


def trail(**kwargs) -> list[tuple[str, str, str]]:
    return [
        (e.action, e.actor_kind, e.actor_name)
        for e in AuditEntry.objects.filter(**kwargs).order_by("pk")
    ]


def test_contacts_created_and_updated(tenant_a, events):
    with tenant_scope(tenant_a):
        with events() as got:
            contact, _ = contact_get_or_create_for_platform(
                tenant=tenant_a, platform=Platform.TELEGRAM, platform_user_id="42"
            )
        assert types(got) == ["contact.created"]
        assert (got[0].tenant_id, got[0].subject_id) == (tenant_a.pk, contact.pk)
        with events() as got:
            contact_get_or_create_for_platform(
                tenant=tenant_a, platform=Platform.TELEGRAM, platform_user_id="42"
            )
        assert got == []
        with events() as got:
            contact_update(
                contact=contact,
                actor=AGENT,
                changes={"full_name": "Laura Gómez", "email": "laura@example.com"},
                company_name="Aguas del Valle",
            )
        assert types(got) == ["contact.updated", "contact.updated"]
        assert got[0].data["changes"] == {
            "full_name": ["", "Laura Gómez"],
            "email": ["", "laura@example.com"],
        }
        assert got[1].data["changes"] == {"division": ["", "Aguas del Valle / General"]}
        assert got[0].actor_kind == "agent"
        assert trail(contact=contact) == [("crm.contact.updated", "agent", "AI agent")] * 2
        with events() as got:
            contact_update(contact=contact, actor=AGENT, changes={"full_name": "Laura Gómez"})
        assert got == []


def test_a_crm_upsert_creates_once_then_updates(tenant_a, events):
    with tenant_scope(tenant_a):
        with events() as got:
            contact = contact_upsert_from_crm(
                tenant=tenant_a,
                channel=Platform.API,
                actor=CRM,
                crm_contact_id="C-1",
                full_name="Laura",
                company="Aguas del Valle",
                division="Lab",
            )
        assert types(got) == ["contact.created"]
        assert str(contact.division) == "Aguas del Valle / Lab"
        with events() as got:
            contact_upsert_from_crm(
                tenant=tenant_a,
                channel=Platform.API,
                actor=CRM,
                crm_contact_id="C-1",
                full_name="Laura Gómez",
            )
        assert types(got) == ["contact.updated"]
        assert got[0].data["changes"] == {"full_name": ["Laura", "Laura Gómez"]}
        assert got[0].actor_name == "CRM API (HubSpot)"


def test_conversation_state_changes(tenant_a, owner, teammate, events):
    rep = Actor.rep(teammate)
    with tenant_scope(tenant_a):
        contact = ContactFactory(tenant=tenant_a, platform=Platform.WIDGET)
        with events() as got:
            conversation = conversation_open(
                tenant=tenant_a, contact=contact, channel=Platform.WIDGET
            )
        assert types(got) == ["conversation.created"]
        with events() as got:
            conversation_flag(conversation=conversation, reason="fallback answer", actor=AGENT)
            conversation_flag(conversation=conversation, reason="fallback answer", actor=AGENT)
        assert types(got) == ["conversation.flagged"]  # once: the second changed nothing
        with events() as got:
            conversation_take_over(conversation=conversation, actor=rep)
        assert types(got) == ["conversation.handed_off"]
        assert got[0].data["assigned_rep_id"] == teammate.pk
        with events() as got:
            conversation_hand_back(conversation=conversation, actor=rep)
            conversation_hand_off(conversation=conversation, reason="wants a quote", actor=AGENT)
            conversation_assign(conversation=conversation, rep=owner, actor=Actor.rep(owner))
            conversation_close(conversation=conversation, actor=Actor.rep(owner))
        assert types(got) == [
            "conversation.handed_back",
            "conversation.handed_off",
            "conversation.assigned",
            "conversation.closed",
        ]
        with events() as got:
            reopened = conversation_open(tenant=tenant_a, contact=contact, channel=Platform.WIDGET)
        assert reopened.pk == conversation.pk and types(got) == ["conversation.reopened"]
        assert trail(conversation=conversation) == [
            ("crm.conversation.flagged", "agent", "AI agent"),
            ("crm.conversation.taken_over", "rep", "rep@alpha.example"),
            ("crm.conversation.handed_back", "rep", "rep@alpha.example"),
            ("crm.conversation.handed_off", "agent", "AI agent"),
            ("crm.conversation.assigned", "rep", "owner@alpha.example"),
            ("crm.conversation.closed", "rep", "owner@alpha.example"),
            ("crm.conversation.reopened", "system", "System"),
        ]
        conversation.refresh_from_db()
        assert conversation.status == Conversation.Status.ACTIVE


def test_a_rep_may_not_take_another_reps_conversation(tenant_a, owner, teammate, events):
    with tenant_scope(tenant_a):
        conversation = ConversationFactory(
            tenant=tenant_a, status=Conversation.Status.HANDED_OFF, assigned_rep=owner
        )
        with events() as got, pytest.raises(PermissionDenied):
            conversation_close(conversation=conversation, actor=Actor.rep(teammate))
        assert got == [] and trail(conversation=conversation) == []


def test_opportunities_and_recommendations(tenant_a, owner, events):
    with tenant_scope(tenant_a):
        conversation = ConversationFactory(tenant=tenant_a)
        contact = conversation.contact
        product = ProductFactory(tenant=tenant_a, sku="TU-100")
        with events() as got:
            opportunity, created = opportunity_register(
                contact=contact,
                conversation=conversation,
                problem_statement="Medir turbidez",
                actor=AGENT,
            )
        assert created and types(got) == ["opportunity.created", "contact.updated"]
        with events() as got:
            again, created = opportunity_register(
                contact=contact,
                conversation=conversation,
                problem_statement="Medir turbidez",
                status=LeadOpportunity.Status.NEEDS_EXPERT,
                actor=AGENT,
            )
        assert again.pk == opportunity.pk and not created
        assert types(got) == ["opportunity.updated"]
        assert got[0].data["changes"] == {"status": ["qualified", "needs_expert"]}
        with events() as got:
            recommendation_record(
                opportunity=opportunity, product=product, justification="0-1000 NTU", actor=AGENT
            )
            recommendation_record(
                opportunity=opportunity, product=product, justification="0-1000 NTU", actor=AGENT
            )
            recommendation_record(
                opportunity=opportunity, product=product, justification="Portátil", actor=AGENT
            )
        assert types(got) == ["recommendation.created", "recommendation.updated"]
        with events() as got:
            opportunity_status_set(
                opportunity=opportunity, status=LeadOpportunity.Status.CLOSED, actor=CRM
            )
            opportunity_assign(opportunity=opportunity, rep=owner, actor=Actor.rep(owner))
        assert types(got) == ["opportunity.updated", "opportunity.updated"]
        assert [e.actor_kind for e in got] == ["integration", "rep"]
        assert trail(opportunity=opportunity) == [
            ("crm.opportunity.created", "agent", "AI agent"),
            ("crm.opportunity.status_changed", "agent", "AI agent"),
            ("crm.opportunity.recommendation_created", "agent", "AI agent"),
            ("crm.opportunity.recommendation_updated", "agent", "AI agent"),
            ("crm.opportunity.status_changed", "integration", "CRM API (HubSpot)"),
            ("crm.opportunity.assigned", "rep", "owner@alpha.example"),
        ]


def test_events_wait_for_the_commit_and_vanish_on_rollback(
    tenant_a, django_capture_on_commit_callbacks
):
    received: list[DomainEvent] = []
    unsubscribe = event_subscribe(received.append, types=["contact.created"])
    try:
        with tenant_scope(tenant_a), django_capture_on_commit_callbacks(execute=True):
            with transaction.atomic():
                contact_get_or_create_for_platform(
                    tenant=tenant_a, platform=Platform.WIDGET, platform_user_id="v1"
                )
                assert received == []  # not before the commit
            try:
                with transaction.atomic():
                    contact_get_or_create_for_platform(
                        tenant=tenant_a, platform=Platform.WIDGET, platform_user_id="v2"
                    )
                    raise RuntimeError("roll back")
            except RuntimeError:
                pass
        assert [e.type for e in received] == ["contact.created"]
    finally:
        unsubscribe()


def test_a_failing_subscriber_does_not_stop_the_others(
    tenant_a, django_capture_on_commit_callbacks
):
    received: list[str] = []

    def broken(event: DomainEvent) -> None:
        raise RuntimeError("subscriber bug")

    unsubscribe = [event_subscribe(broken), event_subscribe(lambda e: received.append(e.type))]
    try:
        with tenant_scope(tenant_a), django_capture_on_commit_callbacks(execute=True):
            contact_get_or_create_for_platform(
                tenant=tenant_a, platform=Platform.WIDGET, platform_user_id="v3"
            )
        assert received == ["contact.created"]
    finally:
        for stop in unsubscribe:
            stop()


def test_unknown_event_types_are_refused():
    with pytest.raises(ValueError):
        event_subscribe(lambda e: None, types=["contact.exploded"])
    with pytest.raises(ValueError):
        event_publish("contact.exploded", tenant_id=1, subject_id=1, actor=AGENT)
