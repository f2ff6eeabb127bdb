"""Operator commands: idempotent, with a JSON summary, and clear errors."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from catalog.models import Product
from crm.models import (
    Company,
    Contact,
    Conversation,
    LeadOpportunity,
    Message,
    OpportunityProductRecommendation,
)
from quotes.models import Quote
from tenants.models import Membership, Tenant
from tenants.scoping import tenant_scope
from tests.helpers import password_login

pytestmark = pytest.mark.django_db


def run(*args: str) -> dict:
    out = io.StringIO()
    call_command(*args, "--json", stdout=out)
    return json.loads(out.getvalue())


def test_create_tenant_is_idempotent():
    first = run("create_tenant", "acme", "--name", "ACME Lab")
    assert first["status"] == "created" and first["slug"] == "acme"
    assert run("create_tenant", "acme", "--name", "ACME Lab")["status"] == "unchanged"
    renamed = run("create_tenant", "acme", "--name", "ACME Laboratorios")
    assert (renamed["status"], renamed["changed"]) == ("updated", ["name"])
    assert Tenant.objects.filter(slug="acme").count() == 1


def test_create_tenant_rejects_a_bad_slug():
    with pytest.raises(CommandError):
        call_command("create_tenant", "not a slug!", "--name", "x", stdout=io.StringIO())
    assert not Tenant.objects.exists()


def test_create_member_is_idempotent_and_sets_role_groups(client):
    run("create_tenant", "acme", "--name", "ACME")
    first = run(
        "create_member",
        "acme",
        "Ana@Acme.example",
        "--role",
        "sales_rep",
        "--password",
        "pass-1234",
    )
    assert (first["status"], first["email"], first["role"]) == (
        "created",
        "ana@acme.example",
        "sales_rep",
    )
    again = run(
        "create_member",
        "acme",
        "ana@acme.example",
        "--role",
        "sales_rep",
        "--password",
        "pass-1234",
    )
    assert again["status"] == "unchanged"
    promoted = run(
        "create_member",
        "acme",
        "ana@acme.example",
        "--role",
        "tenant_admin",
        "--password",
        "pass-1234",
    )
    assert (promoted["status"], promoted["changed"]) == ("updated", ["role"])
    tenant = Tenant.objects.get(slug="acme")
    with tenant_scope(tenant):
        membership = Membership.objects.select_related("user").get()
    assert membership.role == Membership.Role.TENANT_ADMIN
    assert list(membership.user.groups.values_list("name", flat=True)) == ["Tenant admins"]
    assert password_login(client, "ana@acme.example", "pass-1234")


def test_create_member_errors_are_clear():
    run("create_tenant", "acme", "--name", "ACME")
    run("create_tenant", "other", "--name", "Other")
    with pytest.raises(CommandError, match="No tenant"):
        call_command(
            "create_member",
            "nope",
            "a@b.example",
            "--role",
            "sales_rep",
            "--password",
            "x",
            stdout=io.StringIO(),
        )
    run("create_member", "acme", "a@b.example", "--role", "sales_rep", "--password", "pw-12345")
    with pytest.raises(CommandError, match="another tenant"):
        call_command(
            "create_member",
            "other",
            "a@b.example",
            "--role",
            "sales_rep",
            "--password",
            "pw-12345",
            stdout=io.StringIO(),
        )


def test_create_member_without_a_password_sends_a_set_password_link(
    mailoutbox, django_capture_on_commit_callbacks, django_user_model
):
    run("create_tenant", "acme", "--name", "ACME")
    with django_capture_on_commit_callbacks(execute=True):
        created = run("create_member", "acme", "eva@acme.example", "--role", "tenant_admin")
    link = created["set_password_link"]
    assert created["status"] == "created" and "/admin/password/set/" in link
    assert [message.to for message in mailoutbox] == [["eva@acme.example"]]
    assert link in mailoutbox[0].body
    user = django_user_model.objects.get(username="eva@acme.example")
    assert not user.has_usable_password()


def test_create_member_never_changes_an_existing_users_password(client, mailoutbox):
    run("create_tenant", "acme", "--name", "ACME")
    run("create_member", "acme", "ana@acme.example", "--role", "sales_rep", "--password", "pw-1")
    out = io.StringIO()
    call_command(
        "create_member", "acme", "ana@acme.example", "--role", "sales_rep",
        "--password", "pw-2", stdout=out,
    )  # fmt: skip
    assert "password was not changed" in out.getvalue()
    assert password_login(client, "ana@acme.example", "pw-1")


def test_seed_demo_is_idempotent(catalog_index):
    first = run("seed_demo")
    second = run("seed_demo")
    assert first == second
    assert first["demo_counts"] == {
        "products": 24,
        "contacts": 26,
        "conversations": 41,
        "messages": 138,
        "opportunities": 15,
        "recommendations": 32,
    }
    assert first["northwind_counts"] == {
        "products": 0,
        "contacts": 2,
        "conversations": 3,
        "messages": 8,
        "opportunities": 2,
        "recommendations": 2,
    }
    demo = Tenant.objects.get(slug="demo")
    with tenant_scope(demo):
        assert Company.objects.count() == 10
        laura = Contact.objects.get(full_name="Laura Gómez")
        assert laura.company.name == "Aguas del Valle S.A."
        opportunity = LeadOpportunity.objects.get(contact=laura)
        assert opportunity.conversation.messages.count() == 3
        assert list(opportunity.recommendations.values_list("product__sku", flat=True)) == [
            "HL-TUR-5200"
        ]
        roles = dict(Membership.objects.values_list("user__email", "role"))
    assert roles == {"admin@demo.example": "tenant_admin", "rep@demo.example": "sales_rep"}


def test_seed_demo_leaves_nothing_for_the_worker_to_answer(catalog_index, settings):
    """Issue 14: the seeded history is answered already; its Telegram chat (the demo has
    no Telegram account) must not be answered at start-up and shown as "Sent"."""
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8111"
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert "http://127.0.0.1:8111/admin/" in out.getvalue()
    assert "http://127.0.0.1:8111/demo/" in out.getvalue()
    assert ":8000" not in out.getvalue()
    demo = Tenant.objects.get(slug="demo")
    with tenant_scope(demo):
        waiting = Message.objects.filter(role=Message.Role.USER, handled_at__isnull=True)
        assert list(waiting.values_list("conversation__channel", "content")) == []
        pending = Message.objects.filter(delivery_status=Message.Delivery.PENDING)
        assert list(pending.values_list("conversation__channel", "content")) == []


def test_seed_demo_gives_the_desk_three_weeks_of_history(catalog_index):
    run("seed_demo")
    demo = Tenant.objects.get(slug="demo")
    today = timezone.localdate()
    with tenant_scope(demo):
        assert Product.objects.filter(sku="AQ-MP-6").exists()
        conversations = Conversation.objects.all()
        channels = set(conversations.values_list("channel", flat=True))
        assert channels == {"widget", "telegram", "whatsapp", "api"}
        days = {timezone.localtime(c.created_at).date() for c in conversations}
        assert len(days) >= 15
        assert min(days) >= today - timedelta(days=21) and max(days) <= today
        assert conversations.filter(status=Conversation.Status.HANDED_OFF).count() >= 3
        assert conversations.filter(needs_attention=True).count() >= 5
        fallbacks = Message.objects.filter(answer_mode="fallback")
        assert fallbacks.count() >= 3
        assert all(m.conversation.needs_attention for m in fallbacks)
        reps = Message.objects.filter(role=Message.Role.AGENT)
        assert reps.count() >= 3
        assert all(m.author.email == "rep@demo.example" and m.author_name for m in reps)
        history = Message.objects.filter(external_id__startswith="demo-h")
        assert history.count() >= 40 and not history.filter(handled_at__isnull=True)
        assert Message.objects.filter(content__startswith="Hi,").exists()  # some English
        statuses = set(LeadOpportunity.objects.values_list("status", flat=True))
        # "quoted" and "won" come from quotes only: the seeded draft quote is not sent.
        quote_statuses = {LeadOpportunity.Status.QUOTED, LeadOpportunity.Status.WON}
        assert statuses == set(LeadOpportunity.Status.values) - quote_statuses
        drafts = Quote.objects.filter(status=Quote.Status.DRAFT, created_by_kind="agent")
        assert [line.sku for line in drafts.get().lines.all()] == ["HL-TUR-5200", "RE-FOR-4000"]
        for opportunity in LeadOpportunity.objects.prefetch_related("recommendations"):
            recommendations = list(opportunity.recommendations.all())
            assert 1 <= len(recommendations) <= 3
            for rec in recommendations:
                assert rec.product is not None and rec.product.sku == rec.product_sku
                assert rec.product_name == rec.product.name and rec.justification
        companies = Contact.objects.filter(division__isnull=False, crm_contact_id__isnull=False)
        assert companies.count() >= 20
    northwind = Tenant.objects.get(slug="northwind")
    with tenant_scope(northwind):
        assert not Conversation.objects.filter(contact__full_name="Laura Gómez").exists()
        assert set(
            OpportunityProductRecommendation.objects.values_list("product_sku", flat=True)
        ) == {"NW-PT-200", "NW-GD-10"}
