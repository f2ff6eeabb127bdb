"""The conversation page: only its workflow's buttons (no "save and add another", no
"save and continue", no delete; deleting stays a list action), the assigned rep by name,
and "create an opportunity" from the conversation (the form, its validation, the
opportunity registered as the rep, who may and who may not)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from crm.models import AuditEntry, Conversation, LeadOpportunity, Message
from tenants.scoping import tenant_scope
from tests.factories import ContactFactory, ConversationFactory, MessageFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:crm_conversation_changelist")


def url(conversation: Conversation, view: str = "change") -> str:
    return reverse(f"admin:crm_conversation_{view}", args=[conversation.pk])


@pytest.fixture
def chat(tenant_a) -> Conversation:
    with tenant_scope(tenant_a):
        laura = ContactFactory(tenant=tenant_a, full_name="Laura Gómez")
        conversation = ConversationFactory(tenant=tenant_a, contact=laura)
        for role, text in [
            (Message.Role.USER, "Necesito medir turbidez en agua potable"),
            (Message.Role.ASSISTANT, "¿En qué rango?"),
            (Message.Role.USER, "0 a 100   NTU,\nunas 3 unidades"),
        ]:
            MessageFactory(tenant=tenant_a, conversation=conversation, role=role, content=text)
    return conversation


def opportunities(conversation: Conversation) -> list[LeadOpportunity]:
    with tenant_scope(conversation.tenant):
        return list(LeadOpportunity.objects.filter(conversation=conversation).order_by("pk"))


# the page's buttons ---------------------------------------------------------------------


@pytest.mark.parametrize("member", ["owner", "teammate"])
def test_the_page_offers_only_its_workflow(client, chat, member, request):
    client.force_login(request.getfixturevalue(member))
    html = client.get(url(chat)).content.decode()
    for button in ('name="take_over"', 'name="text"', 'name="close"', "Create an opportunity"):
        assert button in html, button
    for generic in ('name="_addanother"', 'name="_continue"', 'class="deletelink"'):
        assert generic not in html, generic
    assert 'name="_save"' in html  # the summary and the intent are still edited here


def test_deleting_stays_a_list_action(client, chat, owner):
    client.force_login(owner)
    response = client.get(CHANGELIST)
    assert "delete_selected" in dict(response.context["action_form"].fields["action"].choices)
    response = client.post(
        CHANGELIST, {"action": "delete_selected", "_selected_action": [chat.pk], "post": "yes"}
    )
    assert response.status_code == 302
    with tenant_scope(chat.tenant):
        assert Conversation.all_objects.get(pk=chat.pk).is_deleted  # soft: restorable


def test_the_assigned_rep_is_shown_by_name(client, chat, owner, teammate):
    teammate.first_name, teammate.last_name = "Marta", "Ruiz"
    teammate.save()
    with tenant_scope(chat.tenant):
        Conversation.objects.filter(pk=chat.pk).update(assigned_rep=teammate)

    client.force_login(teammate)  # a rep reads it
    html = client.get(url(chat)).content.decode()
    assert '<div class="readonly">Marta Ruiz</div>' in html
    assert f'<div class="readonly">{teammate.email}</div>' not in html

    client.force_login(owner)  # an admin picks from names
    response = client.get(url(chat))
    choices = dict(response.context["adminform"].form.fields["assigned_rep"].choices)
    labels = {str(label) for label in choices.values()}
    assert "Marta Ruiz" in labels and owner.email in labels  # no name: the e-mail


# create an opportunity ------------------------------------------------------------------


def test_the_form_is_prefilled_with_the_customers_words(client, chat, teammate):
    client.force_login(teammate)
    response = client.get(url(chat, "create_opportunity"))
    assert response.status_code == 200
    form = response.context["form"]
    assert form.initial["problem_statement"] == (
        "Necesito medir turbidez en agua potable\n0 a 100 NTU, unas 3 unidades"
    )
    assert form.initial["currency"] == "EUR"
    html = response.content.decode()
    for name in ("problem_statement", "value", "currency", "expected_close_date", "next_step"):
        assert f'name="{name}"' in html, name


def test_creating_an_opportunity_registers_it_as_the_rep_and_opens_it(client, chat, teammate):
    client.force_login(teammate)
    response = client.post(
        url(chat, "create_opportunity"),
        {
            "problem_statement": "Turbidímetro 0-100 NTU, 3 unidades",
            "value": "10350.50",
            "currency": "usd",
            "expected_close_date": "2027-01-31",
            "next_step": "Enviar cotización",
        },
    )
    [opportunity] = opportunities(chat)
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "admin:crm_leadopportunity_change", args=[opportunity.pk]
    )
    assert (
        opportunity.contact_id,
        opportunity.problem_statement,
        opportunity.value,
        opportunity.currency,
        opportunity.expected_close_date,
        opportunity.next_step,
        opportunity.assigned_rep,
        opportunity.status,
    ) == (
        chat.contact_id,
        "Turbidímetro 0-100 NTU, 3 unidades",
        Decimal("10350.50"),
        "USD",
        date(2027, 1, 31),
        "Enviar cotización",
        teammate,
        LeadOpportunity.Status.QUALIFIED,
    )
    with tenant_scope(chat.tenant):
        entry = AuditEntry.objects.get(opportunity=opportunity)
        contact = type(chat.contact).objects.get(pk=chat.contact_id)
    assert (entry.action, entry.actor_kind, entry.actor) == (
        "crm.opportunity.created",
        "rep",
        teammate,
    )
    assert entry.changes["value"] == [None, "10350.50"]
    assert contact.problem_statement == "Turbidímetro 0-100 NTU, 3 unidades"


def test_a_second_opportunity_is_a_new_one(client, chat, teammate):
    client.force_login(teammate)
    for need in ("Turbidímetro", "Medidor de cloro"):
        client.post(url(chat, "create_opportunity"), {"problem_statement": need})
    assert [o.problem_statement for o in opportunities(chat)] == [
        "Turbidímetro",
        "Medidor de cloro",
    ]


@pytest.mark.parametrize(
    ("data", "field", "reason"),
    [
        ({"problem_statement": "  "}, "problem_statement", "This field is required."),
        ({"problem_statement": "x", "currency": "euros"}, "currency", "three letters"),
        ({"problem_statement": "x", "currency": "E1R"}, "currency", "three letters"),
        ({"problem_statement": "x", "value": "100"}, "currency", "which currency"),
        ({"problem_statement": "x", "value": "-5", "currency": "EUR"}, "value", "greater than"),
        ({"problem_statement": "x", "value": "mucho", "currency": "EUR"}, "value", "number"),
        (
            {"problem_statement": "x", "expected_close_date": "31/01/2027"},
            "expected_close_date",
            "valid date",
        ),
        ({"problem_statement": "x", "next_step": "y" * 256}, "next_step", "at most 255"),
    ],
)
def test_bad_input_is_a_400_with_the_reason_and_nothing_created(
    client, chat, teammate, data, field, reason
):
    client.force_login(teammate)
    response = client.post(url(chat, "create_opportunity"), data)
    assert response.status_code == 400
    errors = " ".join(response.context["form"].errors[field])
    assert reason in errors
    assert reason.split()[0] in response.content.decode()
    assert opportunities(chat) == []


def test_who_may_not_add_opportunities_sees_no_button_and_gets_403(client, chat, teammate):
    teammate.groups.first().permissions.remove(
        *teammate.groups.first().permissions.filter(codename="add_leadopportunity")
    )
    client.force_login(teammate)
    assert "Create an opportunity" not in client.get(url(chat)).content.decode()
    assert client.get(url(chat, "create_opportunity")).status_code == 403
    response = client.post(url(chat, "create_opportunity"), {"problem_statement": "x"})
    assert response.status_code == 403
    assert opportunities(chat) == []


def test_an_outsider_gets_404_and_nothing_is_created(client, chat, outsider):
    client.force_login(outsider)
    assert client.get(url(chat, "create_opportunity")).status_code == 404
    response = client.post(url(chat, "create_opportunity"), {"problem_statement": "intruso"})
    assert response.status_code == 404
    assert opportunities(chat) == []


def test_the_form_needs_get_or_post(client, chat, teammate):
    client.force_login(teammate)
    assert client.put(url(chat, "create_opportunity")).status_code == 405
