"""Operator commands: idempotent, with a JSON summary, and clear errors."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from crm.models import Company, Contact, LeadOpportunity, Message
from tenants.models import Membership, Tenant
from tenants.scoping import tenant_scope

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
    assert client.login(username="ana@acme.example", password="pass-1234")


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
    with pytest.raises(CommandError, match="needs a password"):
        call_command(
            "create_member", "acme", "a@b.example", "--role", "sales_rep", stdout=io.StringIO()
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


def test_seed_demo_is_idempotent():
    first = run("seed_demo")
    second = run("seed_demo")
    assert first == second
    assert first["demo_counts"] == {"contacts": 3, "conversations": 1, "opportunities": 1}
    demo = Tenant.objects.get(slug="demo")
    with tenant_scope(demo):
        assert Company.objects.count() == 2
        assert Message.objects.count() == 3
        assert LeadOpportunity.objects.get().recommendations.count() == 1
        assert Contact.objects.get(full_name="Laura Gómez").company.name == "Aguas del Valle S.A."
        roles = dict(Membership.objects.values_list("user__email", "role"))
    assert roles == {"admin@demo.example": "tenant_admin", "rep@demo.example": "sales_rep"}
