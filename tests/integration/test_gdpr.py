"""GDPR: one contact's data exported as JSON, and a contact erased (aggregates kept), from
the services, the commands and the admin; both recorded in the audit trail."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from channels_app.models import ChannelAccount, InboundEvent
from crm.audit import Actor
from crm.models import (
    AuditEntry,
    Contact,
    Conversation,
    LeadOpportunity,
    Message,
    OpportunityProductRecommendation,
    Platform,
)
from crm.services import (
    contact_erase,
    contact_export,
    contact_update,
    conversation_open,
    message_add,
    opportunity_register,
    recommendation_record,
)
from tenants.scoping import tenant_scope
from tests.factories import (
    ChannelAccountFactory,
    ContactFactory,
    InboundEventFactory,
    ProductFactory,
)

pytestmark = pytest.mark.django_db

SECRET_WORDS = ["Laura", "laura@aguas.example", "+57 300 1234567", "CRM-77", "5550001"]


@pytest.fixture
def laura(tenant_a):
    """A contact with a conversation, an opportunity, a recommendation and raw events."""
    with tenant_scope(tenant_a):
        contact = ContactFactory(
            tenant=tenant_a,
            platform=Platform.TELEGRAM,
            platform_user_id="5550001",
            full_name="",
            email="",
            crm_contact_id="CRM-77",
        )
        agent = Actor.agent()
        contact_update(
            contact=contact,
            actor=agent,
            changes={"full_name": "Laura Gómez", "email": "laura@aguas.example"},
            company_name="Aguas del Valle",
        )
        contact_update(contact=contact, actor=agent, changes={"phone_number": "+57 300 1234567"})
        conversation = conversation_open(
            tenant=tenant_a, contact=contact, channel=Platform.TELEGRAM
        )
        message_add(
            conversation=conversation,
            role=Message.Role.USER,
            content="Soy Laura, mi correo es laura@aguas.example",
            metadata={"crm_note": "Laura prefers mornings"},
        )
        message_add(conversation=conversation, role=Message.Role.ASSISTANT, content="Hola Laura")
        opportunity, _ = opportunity_register(
            contact=contact,
            conversation=conversation,
            problem_statement="Laura needs a turbidimeter",
            actor=agent,
        )
        recommendation_record(
            opportunity=opportunity,
            product=ProductFactory(tenant=tenant_a, sku="TU-1"),
            justification="Laura's lab measures 0-1000 NTU",
            actor=agent,
        )
        account = ChannelAccountFactory(tenant=tenant_a, kind=ChannelAccount.Kind.TELEGRAM)
        InboundEventFactory(
            tenant=tenant_a,
            account=account,
            address="5550001",
            text="Soy Laura",
            display_name="Laura",
        )
        other = ContactFactory(tenant=tenant_a, full_name="Pedro", platform_user_id="999")
        InboundEventFactory(tenant=tenant_a, account=account, address="999", text="Soy Pedro")
    contact.refresh_from_db()
    return contact, other


def _dump(tenant, contact: Contact) -> str:
    """Every value the CRM and the channels hold about the contact, as one string."""
    with tenant_scope(tenant):
        rows = [
            list(Contact.all_objects.filter(pk=contact.pk).values()),
            list(Message.all_objects.filter(conversation__contact=contact).values()),
            list(Conversation.all_objects.filter(contact=contact).values()),
            list(LeadOpportunity.all_objects.filter(contact=contact).values()),
            list(
                OpportunityProductRecommendation.all_objects.filter(
                    opportunity__contact=contact
                ).values()
            ),
            list(AuditEntry.objects.filter(contact=contact).values()),
            list(AuditEntry.objects.filter(opportunity__contact=contact).values()),
            list(InboundEvent.all_objects.exclude(address="999").values()),
        ]
    return json.dumps(rows, default=str, ensure_ascii=False)


def test_export_holds_everything_about_the_contact_and_is_recorded(tenant_a, owner, laura):
    contact, _ = laura
    with tenant_scope(tenant_a):
        data = contact_export(contact=contact, actor=Actor.rep(owner))
        assert (
            AuditEntry.objects.filter(contact=contact, action="crm.contact.exported").count() == 1
        )
    assert data["contact"]["full_name"] == "Laura Gómez"
    assert data["contact"]["company"] == "Aguas del Valle"
    assert data["contact"]["division"] == "General"
    [conversation] = data["conversations"]
    assert [m["content"] for m in conversation["messages"]] == [
        "Soy Laura, mi correo es laura@aguas.example",
        "Hola Laura",
    ]
    [opportunity] = data["opportunities"]
    assert opportunity["recommendations"][0]["product_sku"] == "TU-1"
    assert {e["action"] for e in data["audit_trail"]} >= {"crm.contact.updated"}
    json.dumps(data)  # JSON as it is


def test_erase_removes_personal_data_and_keeps_the_aggregates(
    tenant_a, owner, laura, django_capture_on_commit_callbacks
):
    contact, other = laura
    before = _dump(tenant_a, contact)
    assert all(word in before for word in SECRET_WORDS)
    with tenant_scope(tenant_a), django_capture_on_commit_callbacks(execute=True):
        counts = contact_erase(contact=contact, actor=Actor.rep(owner))
    assert counts["messages"] == 2 and counts["conversations"] == 1
    after = _dump(tenant_a, contact)
    found = [word for word in SECRET_WORDS if word in after]
    assert found == [], after
    with tenant_scope(tenant_a):
        # the aggregates stay: rows, statuses, channels, products
        assert Message.all_objects.filter(conversation__contact=contact).count() == 2
        assert Conversation.all_objects.filter(contact=contact, channel="telegram").count() == 1
        assert LeadOpportunity.objects.get(contact=contact).status == "qualified"
        assert OpportunityProductRecommendation.objects.get().product_sku == "TU-1"
        erased = AuditEntry.objects.get(contact=contact, action="crm.contact.erased")
        assert erased.actor_kind == "rep" and erased.actor == owner
        # nobody else is touched
        other.refresh_from_db()
        assert other.full_name == "Pedro"
        assert InboundEvent.objects.get(address="999").text == "Soy Pedro"


def test_the_commands_export_and_erase_in_the_tenant_only(tenant_a, tenant_b, laura):
    contact, _ = laura
    out = io.StringIO()
    call_command("contact_export", "alpha", str(contact.pk), stdout=out)
    assert json.loads(out.getvalue())["contact"]["email"] == "laura@aguas.example"
    with pytest.raises(CommandError, match="has no contact"):
        call_command("contact_export", "bravo", str(contact.pk), stdout=io.StringIO())
    with pytest.raises(CommandError, match="has no contact"):
        call_command("contact_erase", "bravo", str(contact.pk), "--json", stdout=io.StringIO())
    out = io.StringIO()
    call_command("contact_erase", "alpha", str(contact.pk), "--json", stdout=out)
    summary = json.loads(out.getvalue())
    assert summary["contact_id"] == contact.pk and summary["erased"]["messages"] == 2
    contact.refresh_from_db()
    assert (contact.full_name, contact.email) == ("", "")
    with tenant_scope(tenant_a):
        actions = list(
            AuditEntry.objects.filter(contact=contact)
            .exclude(action="crm.contact.updated")
            .values_list("action", "actor_name")
        )
    assert actions == [
        ("crm.contact.exported", "Operator (manage.py)"),
        ("crm.contact.erased", "Operator (manage.py)"),
    ]


def test_tenant_admins_export_and_erase_from_the_admin_reps_cannot(
    client, tenant_a, owner, teammate, laura
):
    contact, _ = laura
    changelist = reverse("admin:crm_contact_changelist")
    client.force_login(teammate)
    response = client.post(
        changelist, {"action": "export_personal_data", "_selected_action": [contact.pk]}
    )
    assert "application/json" not in response.get("Content-Type", "")
    client.post(changelist, {"action": "erase_personal_data", "_selected_action": [contact.pk]})
    contact.refresh_from_db()
    assert contact.full_name == "Laura Gómez"

    client.force_login(owner)
    response = client.post(
        changelist, {"action": "export_personal_data", "_selected_action": [contact.pk]}
    )
    assert response["Content-Type"].startswith("application/json")
    assert json.loads(response.content)["contact"]["full_name"] == "Laura Gómez"
    # erasing asks first
    response = client.post(
        changelist, {"action": "erase_personal_data", "_selected_action": [contact.pk]}
    )
    assert response.status_code == 200 and b"cannot be undone" in response.content
    contact.refresh_from_db()
    assert contact.full_name == "Laura Gómez"
    response = client.post(
        changelist,
        {"action": "erase_personal_data", "_selected_action": [contact.pk], "confirm": "yes"},
    )
    assert response.status_code == 302
    contact.refresh_from_db()
    assert (contact.full_name, contact.email, contact.platform_user_id) == ("", "", None)
