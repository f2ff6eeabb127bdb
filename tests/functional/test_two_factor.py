"""Two-factor sign-in (django-otp): members of a tenant that requires it cannot reach the
admin without a TOTP code (or set one up first), a recovery code works once, a password
alone never enrolls a device, and sessions from before the switch are sent back."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from tenants.two_factor import recovery_codes_generate
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

PAGES = ["admin:index", "admin:crm_contact_changelist", "admin:tenants_membership_changelist"]


def _code(device: TOTPDevice) -> str:
    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


def _password_step(client, user):
    return client.post(
        reverse("admin:login"),
        {"username": user.email, "password": PASSWORD, "next": "/admin/crm/contact/"},
    )


def _signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def _no_admin_pages(client) -> None:
    for name in PAGES:
        response = client.get(reverse(name))
        assert response.status_code == 302, name
        assert response["Location"].startswith(reverse("admin:login")), name


def _app(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)


@pytest.fixture
def requiring(tenant_a):
    tenant_a.two_factor_required = True
    tenant_a.save(update_fields=["two_factor_required"])
    return tenant_a


@pytest.fixture
def no_throttle(settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0


def test_a_member_of_a_2fa_tenant_sets_up_an_app_before_reaching_the_admin(
    client, owner, requiring, no_throttle
):
    response = _password_step(client, owner)
    assert response["Location"] == reverse("admin:two_factor_setup")
    assert not _signed_in(client)
    _no_admin_pages(client)

    page = client.get(reverse("admin:two_factor_setup"))
    assert page.status_code == 200 and b"<svg" in page.content
    device = TOTPDevice.objects.get(user=owner, confirmed=False)
    assert page.context["secret"].replace(" ", "") in device.config_url
    assert client.post(reverse("admin:two_factor_setup"), {"code": "000000"}).status_code == 200
    assert not _signed_in(client)

    done = client.post(reverse("admin:two_factor_setup"), {"code": _code(device)})
    assert done.status_code == 200
    codes = done.context["codes"]
    assert len(codes) == 10 and StaticToken.objects.filter(device__user=owner).count() == 10
    assert done.context["next_url"] == "/admin/crm/contact/"
    assert _signed_in(client)
    for name in PAGES:
        assert client.get(reverse(name)).status_code == 200, name


def test_a_member_with_an_app_cannot_reach_the_admin_without_a_code(
    client, owner, requiring, no_throttle
):
    device = _app(owner)
    response = _password_step(client, owner)
    assert response["Location"] == reverse("admin:two_factor_verify")
    assert not _signed_in(client)
    _no_admin_pages(client)

    wrong = client.post(reverse("admin:two_factor_verify"), {"code": "123456"})
    assert wrong.status_code == 200 and wrong.context["error"]
    assert not _signed_in(client)
    _no_admin_pages(client)

    right = client.post(reverse("admin:two_factor_verify"), {"code": _code(device)})
    assert right.status_code == 302 and right["Location"] == "/admin/crm/contact/"
    assert _signed_in(client)
    for name in PAGES:
        assert client.get(reverse(name)).status_code == 200, name


def test_wrong_codes_are_throttled(client, owner, requiring):
    device = _app(owner)
    _password_step(client, owner)
    client.post(reverse("admin:two_factor_verify"), {"code": "123456"})
    # Right away, even the right code waits for the pause to end.
    throttled = client.post(reverse("admin:two_factor_verify"), {"code": _code(device)})
    assert "wait a few seconds" in throttled.context["error"]
    assert not _signed_in(client)


def test_a_recovery_code_works_once(client, owner, no_throttle):
    _app(owner)  # voluntary: the tenant does not require it
    first, second = recovery_codes_generate(user=owner)[:2]

    _password_step(client, owner)
    assert not _signed_in(client)
    response = client.post(reverse("admin:two_factor_verify"), {"code": first.upper()})
    assert response.status_code == 302 and _signed_in(client)
    assert client.get(reverse("admin:index")).status_code == 200

    client.logout()
    _password_step(client, owner)
    again = client.post(reverse("admin:two_factor_verify"), {"code": first})
    assert again.status_code == 200 and not _signed_in(client)
    assert client.post(reverse("admin:two_factor_verify"), {"code": second}).status_code == 302
    assert _signed_in(client)
    assert StaticToken.objects.filter(device__user=owner).count() == 8


def test_a_password_alone_never_enrolls_a_new_app(client, owner, requiring):
    _app(owner)
    _password_step(client, owner)
    response = client.get(reverse("admin:two_factor_setup"))
    assert response["Location"] == reverse("admin:two_factor_verify")
    assert client.post(reverse("admin:two_factor_setup"), {"code": "123456"}).status_code == 302
    assert TOTPDevice.objects.filter(user=owner).count() == 1


def test_a_session_from_before_the_switch_is_sent_to_the_second_step(client, owner, tenant_a):
    client.force_login(owner)
    assert client.get(reverse("admin:index")).status_code == 200
    tenant_a.two_factor_required = True
    tenant_a.save(update_fields=["two_factor_required"])
    response = client.get(reverse("admin:crm_contact_changelist"))
    assert response["Location"] == reverse("admin:two_factor_setup")
    assert not _signed_in(client)
    _no_admin_pages(client)


def test_the_pending_step_expires(client, owner, requiring, settings):
    _app(owner)
    _password_step(client, owner)
    settings.OTP_PENDING_SECONDS = -1
    response = client.get(reverse("admin:two_factor_verify"))
    assert response["Location"] == reverse("admin:login")


def test_members_of_other_tenants_and_without_devices_sign_in_with_a_password(
    client, owner, outsider, requiring
):
    response = _password_step(client, outsider)
    assert response.status_code == 302 and _signed_in(client)


def test_a_tenant_admin_turns_the_switch_on(client, owner, tenant_a):
    client.force_login(owner)
    response = client.post(
        reverse("admin:tenants_tenant_change", args=[tenant_a.pk]),
        {
            "name": tenant_a.name,
            "default_language": tenant_a.default_language,
            "persona": "",
            "sales_instructions": "",
            "two_factor_required": "on",
        },
    )
    assert response.status_code == 302
    tenant_a.refresh_from_db()
    assert tenant_a.two_factor_required
    # Their own session owes the second factor now.
    assert client.get(reverse("admin:index"))["Location"] == reverse("admin:two_factor_setup")


def test_operators_owe_it_when_the_platform_says_so(client, operator, settings):
    settings.OTP_REQUIRED_FOR_OPERATORS = True
    response = _password_step(client, operator)
    assert response["Location"] == reverse("admin:two_factor_setup")
    assert not _signed_in(client)


def test_the_two_factor_page_makes_new_recovery_codes(client, owner, no_throttle):
    device = _app(owner)
    old = recovery_codes_generate(user=owner)
    _password_step(client, owner)
    client.post(reverse("admin:two_factor_verify"), {"code": _code(device)})
    page = client.get(reverse("admin:two_factor"))
    assert page.status_code == 200 and page.context["codes_left"] == 10
    new = client.post(reverse("admin:two_factor")).context["codes"]
    assert set(new).isdisjoint(old)
    assert set(
        StaticToken.objects.filter(device__user=owner).values_list("token", flat=True)
    ) == set(new)


def test_the_reset_command_removes_a_lost_app(owner, requiring):
    _app(owner)
    recovery_codes_generate(user=owner)
    out = io.StringIO()
    call_command("two_factor_reset", owner.email.upper(), "--json", stdout=out)
    assert json.loads(out.getvalue()) == {
        "email": owner.email,
        "devices_removed": 2,
        "required": True,
    }
    assert not TOTPDevice.objects.filter(user=owner).exists()


def test_the_async_stack_sends_an_old_session_to_the_second_step(async_client, owner, tenant_a):
    """Daphne runs the middleware's async path."""
    from asgiref.sync import async_to_sync

    async def run() -> list[str]:
        await async_client.aforce_login(owner)
        tenant_a.two_factor_required = True
        await tenant_a.asave(update_fields=["two_factor_required"])
        first = await async_client.get(reverse("admin:index"))
        second = await async_client.get(reverse("admin:index"))
        return [first["Location"], second["Location"]]

    first, second = async_to_sync(run)()
    assert first == reverse("admin:two_factor_setup")
    assert second.startswith(reverse("admin:login"))
