"""The admin for members: new rows get the member's tenant, roles, soft delete and
restore, operators across tenants, and who may log in at all."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.contrib.messages import get_messages
from django.core.management import call_command
from django.urls import reverse

from crm.models import Company, CompanyDivision
from tenants.models import Membership, Tenant
from tenants.scoping import scopes_disabled, tenant_scope
from tests.conftest import PASSWORD
from tests.factories import CompanyFactory, UserFactory
from tests.helpers import password_login

pytestmark = pytest.mark.django_db


def test_new_rows_and_inline_rows_get_the_members_tenant(client, owner, tenant_a, tenant_b):
    client.force_login(owner)
    response = client.post(
        reverse("admin:crm_company_add"),
        {
            "name": "Laboratorio Central",
            "fiscal_id": "123",
            "divisions-TOTAL_FORMS": "1",
            "divisions-INITIAL_FORMS": "0",
            "divisions-0-name": "Lab Aguas",
        },
    )
    assert response.status_code == 302, response.context and response.context["errors"]
    with tenant_scope(tenant_a):
        company = Company.objects.get(name="Laboratorio Central")
        division = CompanyDivision.objects.get(company=company)
    assert company.tenant == tenant_a
    assert division.tenant == tenant_a


def test_per_tenant_uniqueness_is_a_form_error_not_a_500(client, owner, tenant_a, tenant_b):
    with tenant_scope(tenant_b):
        CompanyFactory(tenant=tenant_b, fiscal_id="FISCAL-1")
    client.force_login(owner)
    payload = {
        "name": "Uno",
        "fiscal_id": "FISCAL-1",
        "divisions-TOTAL_FORMS": "0",
        "divisions-INITIAL_FORMS": "0",
    }
    assert client.post(reverse("admin:crm_company_add"), payload).status_code == 302
    response = client.post(reverse("admin:crm_company_add"), {**payload, "name": "Dos"})
    assert response.status_code == 200
    assert response.context["adminform"].form.non_field_errors()
    with tenant_scope(tenant_a):
        assert Company.objects.filter(fiscal_id="FISCAL-1").count() == 1


def test_soft_delete_and_restore_in_the_admin(client, teammate, tenant_a):
    with tenant_scope(tenant_a):
        company = CompanyFactory(tenant=tenant_a)
    client.force_login(teammate)
    delete_url = reverse("admin:crm_company_delete", args=[company.pk])
    assert client.post(delete_url, {"post": "yes"}).status_code == 302
    company.refresh_from_db()
    assert company.is_deleted
    changelist = reverse("admin:crm_company_changelist")
    assert company not in client.get(changelist).context["cl"].result_list
    assert company in client.get(changelist + "?trash=only").context["cl"].result_list
    # actions run on the listed rows: the trash view is where deleted rows are restored
    client.post(
        changelist + "?trash=only",
        {"action": "restore_selected", "_selected_action": [company.pk]},
    )
    company.refresh_from_db()
    assert not company.is_deleted
    # hard delete is for operators only: the action is not offered to members
    client.post(changelist, {"action": "hard_delete_selected", "_selected_action": [company.pk]})
    with tenant_scope(tenant_a):
        assert Company.all_objects.filter(pk=company.pk).exists()


def test_sales_rep_cannot_manage_members(client, teammate, owner):
    client.force_login(teammate)
    assert client.get(reverse("admin:tenants_membership_changelist")).status_code == 403
    assert client.get(reverse("admin:tenants_membership_add")).status_code == 403
    with scopes_disabled():
        owner_membership = Membership.objects.get(user=owner)
    url = reverse("admin:tenants_membership_change", args=[owner_membership.pk])
    assert client.post(url, {"role": "sales_rep"}).status_code == 403
    owner_membership.refresh_from_db()
    assert owner_membership.role == Membership.Role.TENANT_ADMIN
    index = client.get(reverse("admin:index"))
    assert b"/admin/tenants/membership/" not in index.content


def _add_member(client, **data):
    return client.post(reverse("admin:tenants_membership_add"), {"role": "sales_rep", **data})


def _shown(response) -> str:
    return " ".join(str(message) for message in get_messages(response.wsgi_request))


def test_tenant_admin_adds_a_member_who_sets_their_password_through_a_one_time_link(
    client, owner, tenant_a, mailoutbox, django_capture_on_commit_callbacks
):
    client.force_login(owner)
    with django_capture_on_commit_callbacks(execute=True):
        response = _add_member(client, email="New.Rep@Alpha.example", full_name="Nueva Rep")
    assert response.status_code == 302
    with tenant_scope(tenant_a):
        membership = Membership.objects.get(user__email="new.rep@alpha.example")
    assert membership.role == Membership.Role.SALES_REP
    assert list(membership.user.groups.values_list("name", flat=True)) == ["Sales reps"]
    assert not membership.user.has_usable_password()
    # The link is e-mailed to the member and shown to the admin, once.
    [email] = mailoutbox
    assert email.to == ["new.rep@alpha.example"]
    link = re.search(r"https?://\S+/admin/password/set/\S+/", email.body).group(0)
    assert link in _shown(response)
    path = urlsplit(link).path

    client.logout()
    form_page = client.get(path, follow=True)
    assert form_page.context["validlink"]
    new_password = "a-long-new-passphrase-42"
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": new_password, "new_password2": new_password},
    )
    assert done.status_code == 302
    assert password_login(client, "new.rep@alpha.example", new_password)
    assert client.get(reverse("admin:crm_contact_changelist")).status_code == 200
    assert client.get(reverse("admin:tenants_membership_changelist")).status_code == 403
    # Once the password is set, the link is dead.
    client.logout()
    assert not client.get(path, follow=True).context["validlink"]


def test_adding_an_existing_user_never_changes_their_password(
    client, owner, tenant_a, mailoutbox, django_capture_on_commit_callbacks
):
    someone = UserFactory(username="someone@example.com", is_staff=False)
    client.force_login(owner)
    with django_capture_on_commit_callbacks(execute=True):
        response = _add_member(
            client, email="someone@example.com", password="taken-over-1", role="tenant_admin"
        )
    assert response.status_code == 302
    someone.refresh_from_db()
    assert someone.check_password(PASSWORD)
    assert not someone.check_password("taken-over-1")
    assert someone.is_staff
    # Neither the admin nor the e-mail gets a way into the account: a notice only.
    assert "/admin/password/set/" not in _shown(response)
    [email] = mailoutbox
    assert email.to == ["someone@example.com"]
    assert "/admin/password/set/" not in email.body


@pytest.mark.parametrize("kind", ["staff without a tenant", "operator", "deactivated"])
def test_tenant_admin_cannot_take_over_accounts_outside_their_tenant(
    client, owner, tenant_a, mailoutbox, django_capture_on_commit_callbacks, kind
):
    target = {
        "staff without a tenant": lambda: UserFactory(username="staff@platform.example"),
        "operator": lambda: UserFactory(username="staff@platform.example", is_superuser=True),
        "deactivated": lambda: UserFactory(
            username="staff@platform.example", is_staff=False, is_active=False
        ),
    }[kind]()
    client.force_login(owner)
    with django_capture_on_commit_callbacks(execute=True):
        response = _add_member(client, email=target.email, role="tenant_admin")
    assert response.status_code == 200
    assert response.context["adminform"].form.non_field_errors()
    target.refresh_from_db()
    assert target.check_password(PASSWORD)
    assert (target.is_active, target.groups.count()) == (kind != "deactivated", 0)
    with scopes_disabled():
        assert not Membership.all_objects.filter(user=target).exists()
    assert mailoutbox == []


def test_tenant_admin_cannot_add_another_tenants_user(client, owner, outsider, mailoutbox):
    client.force_login(owner)
    response = _add_member(client, email=outsider.email, password="whatever-123")
    assert response.status_code == 200
    assert "another tenant" in str(response.context["adminform"].form.non_field_errors())
    assert outsider.check_password(PASSWORD)
    assert mailoutbox == []


def test_a_member_who_never_set_a_password_can_get_a_new_link(
    client, owner, teammate, tenant_a, mailoutbox, django_capture_on_commit_callbacks
):
    client.force_login(owner)
    with django_capture_on_commit_callbacks(execute=True):
        _add_member(client, email="late@alpha.example")
    mailoutbox.clear()
    with scopes_disabled():
        late, rep = (
            Membership.objects.get(user__email=email)
            for email in ("late@alpha.example", teammate.email)
        )
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:tenants_membership_changelist"),
            {"action": "send_password_link", "_selected_action": [late.pk, rep.pk]},
            follow=True,
        )
    # Only the member without a password gets one; the rep keeps theirs.
    assert [message.to for message in mailoutbox] == [["late@alpha.example"]]
    assert "has a password already" in _shown(response)
    teammate.refresh_from_db()
    assert teammate.check_password(PASSWORD)


def test_tenant_admin_sees_only_own_tenant_settings(client, owner, tenant_a, tenant_b):
    client.force_login(owner)
    listed = client.get(reverse("admin:tenants_tenant_changelist")).context["cl"].result_list
    assert list(listed) == [tenant_a]
    assert client.get(reverse("admin:tenants_tenant_change", args=[tenant_b.pk])).status_code == 404
    response = client.post(
        reverse("admin:tenants_tenant_change", args=[tenant_a.pk]),
        {
            "name": "Alpha Labs",
            "default_language": "en",
            "persona": "Soy Ana",
            "sales_instructions": "",
            "slug": "hijacked",
            "is_active": "",
        },
    )
    assert response.status_code == 302
    tenant_a.refresh_from_db()
    assert (tenant_a.persona, tenant_a.slug, tenant_a.is_active) == ("Soy Ana", "alpha", True)


def test_operator_sees_all_tenants_with_a_tenant_filter(client, operator, rows_a, rows_b):
    client.force_login(operator)
    response = client.get(reverse("admin:crm_company_changelist"))
    listed = set(response.context["cl"].result_list)
    assert {rows_a[Company], rows_b[Company]} <= listed
    filters = [spec.title for spec in response.context["cl"].filter_specs]
    assert "tenant" in filters
    filtered = client.get(
        reverse("admin:crm_company_changelist") + f"?tenant__id__exact={rows_b.tenant.pk}"
    )
    listed = list(filtered.context["cl"].result_list)
    assert rows_b[Company] in listed
    assert {company.tenant_id for company in listed} == {rows_b.tenant.pk}


def test_operator_cannot_link_rows_across_tenants(client, operator, rows_a, rows_b):
    client.force_login(operator)
    response = client.post(
        reverse("admin:crm_contact_add"),
        {
            "tenant": rows_a.tenant.pk,
            "platform": "telegram",
            "platform_user_id": "cross",
            "division": rows_b[CompanyDivision].pk,
        },
    )
    assert response.status_code == 200
    assert "same tenant" in str(response.context["adminform"].form.non_field_errors())


def test_staff_without_a_tenant_and_anonymous_users_are_sent_to_login(client, db):
    index = reverse("admin:index")
    assert client.get(index).status_code == 302
    client.force_login(UserFactory(is_staff=True))
    response = client.get(reverse("admin:crm_company_changelist"))
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


def test_members_of_an_inactive_tenant_are_locked_out(client, owner, tenant_a):
    Tenant.objects.filter(pk=tenant_a.pk).update(is_active=False)
    client.force_login(owner)
    assert client.get(reverse("admin:crm_company_changelist")).status_code == 302


def test_seeded_tenant_admin_logs_in_and_sees_only_their_tenant(client):
    call_command("seed_demo", "--json", stdout=open("/dev/null", "w"))  # noqa: SIM115
    response = client.post(
        reverse("admin:login"),
        {"username": "admin@demo.example", "password": "demo-pass-2026", "next": "/admin/"},
    )
    assert response.status_code == 302
    index = client.get(reverse("admin:index"))
    assert b"Hidrolab Demo" in index.content
    companies = client.get(reverse("admin:crm_company_changelist")).context["cl"].result_list
    names = {c.name for c in companies}
    assert {"Aguas del Valle S.A.", "Minera Andina Ltda."} <= names
    with tenant_scope(Tenant.objects.get(slug="northwind")):
        northwind = set(Company.objects.values_list("name", flat=True))
    assert "Refinería Costa Norte" in northwind
    assert not names & northwind
    contacts = client.get(reverse("admin:crm_contact_changelist"))
    assert b"Pedro Ruiz" not in contacts.content
    assert b"Laura G" in contacts.content
