"""One opportunity changed by the agent, a rep and an integration: its page shows each
change with its actor, and so does its conversation's page."""

from __future__ import annotations

import re

import pytest
from asgiref.sync import async_to_sync
from django.urls import reverse

from agent.services import respond
from crm.audit import Actor
from crm.models import LeadOpportunity, Message, Platform
from crm.services import conversation_open, message_add, opportunity_status_set
from tenants.scoping import tenant_scope
from tests.factories import ContactFactory
from tests.factories.catalog import CATALOG, load

pytestmark = pytest.mark.django_db


def _text(cell: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", cell).split())


def _rows(html: str, section: str) -> list[list[str]]:
    """The audit table's rows (cells as text) of the page's ``section`` field."""
    table = html.split(f"field-{section}")[1].split("</table>")[0]
    rows = re.findall(r'<tr class="desk-actor-\w+">(.*?)</tr>', table, flags=re.S)
    return [[_text(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)] for row in rows]


def test_the_opportunity_page_shows_the_agent_the_rep_and_the_integration(
    client, tenant_a, teammate, catalog_index, fake_llm
):
    assert load(tenant_a, CATALOG).created == len(CATALOG)
    fake_llm.tool_calls(
        (
            "register_opportunity",
            {"problem_statement": "Medir turbidez hasta 1000 NTU.", "status": "qualified"},
        ),
    )
    fake_llm.tool_calls(
        (
            "recommend_products",
            {"products": [{"sku": "HL-TUR-5200", "justification": "Mide 0-1000 NTU."}]},
        ),
        ("request_human_handoff", {"reason": "quiere una cotización formal"}),
    )
    fake_llm.text("Le paso con un asesor.")
    with tenant_scope(tenant_a):
        contact = ContactFactory(tenant=tenant_a, platform=Platform.TELEGRAM, full_name="Laura")
        conversation = conversation_open(
            tenant=tenant_a, contact=contact, channel=Platform.TELEGRAM
        )
        message_add(
            conversation=conversation, role=Message.Role.USER, content="Turbidez hasta 1000 NTU"
        )
    result = async_to_sync(respond)(conversation)
    assert result is not None and result.mode == "llm"
    with tenant_scope(tenant_a):
        opportunity = LeadOpportunity.objects.get(conversation=conversation)

    client.force_login(teammate)  # the rep moves it on the desk
    response = client.post(
        reverse("admin:crm_leadopportunity_changelist"),
        {"action": "move_to_needs_expert", "_selected_action": [opportunity.pk]},
    )
    assert response.status_code == 302
    client.post(
        reverse("admin:crm_leadopportunity_changelist"),
        {"action": "assign_to_me", "_selected_action": [opportunity.pk]},
    )
    with tenant_scope(tenant_a):  # the CRM closes it (what its API call does)
        opportunity_status_set(
            opportunity=opportunity,
            status=LeadOpportunity.Status.CLOSED,
            actor=Actor.integration("CRM API (HubSpot)"),
        )

    html = client.get(
        reverse("admin:crm_leadopportunity_change", args=[opportunity.pk])
    ).content.decode()
    rows = [row[1:5] for row in _rows(html, "audit_trail")]
    assert rows == [
        ["AI agent", "AI agent", "Created", "—"],
        ["AI agent", "AI agent", "Product recommended", "—"],
        ["Sales rep", "rep@alpha.example", "Status changed", "Qualified"],
        ["Sales rep", "rep@alpha.example", "Assigned", "—"],
        ["Integration", "CRM API (HubSpot)", "Status changed", "Needs an expert"],
    ]

    html = client.get(
        reverse("admin:crm_conversation_change", args=[conversation.pk])
    ).content.decode()
    assert [row[1:4] for row in _rows(html, "audit_trail")] == [
        ["AI agent", "AI agent", "Handed off to a rep"],
    ]


def test_deleting_and_restoring_in_the_admin_is_in_the_trail(client, tenant_a, owner):
    from crm.models import AuditEntry
    from tests.factories import LeadOpportunityFactory

    with tenant_scope(tenant_a):
        opportunity = LeadOpportunityFactory(tenant=tenant_a)
    client.force_login(owner)
    changelist = reverse("admin:crm_leadopportunity_changelist")
    for action, listed in (("delete_selected", ""), ("restore_selected", "?trash=only")):
        data = {"action": action, "_selected_action": [opportunity.pk], "post": "yes"}
        assert client.post(changelist + listed, data).status_code == 302
    with tenant_scope(tenant_a):
        trail = list(
            AuditEntry.objects.filter(opportunity=opportunity).values_list("action", "actor")
        )
    assert trail == [
        ("crm.opportunity.deleted", owner.pk),
        ("crm.opportunity.restored", owner.pk),
    ]
