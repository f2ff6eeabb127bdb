"""Brute force on the staff login: repeated failures lock the account and the address
(django-axes), the right password is then refused with the lockout page, and the
operator's unlock commands free them."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

LOCKED = 429


def _sign_in(client, username: str, password: str, address: str = "127.0.0.1"):
    return client.post(
        reverse("admin:login"),
        {"username": username, "password": password, "next": "/admin/"},
        REMOTE_ADDR=address,
    )


def _signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_five_wrong_passwords_lock_the_account_until_an_operator_unlocks_it(client, owner):
    for attempt in range(4):
        assert _sign_in(client, owner.email, f"wrong-{attempt}").status_code == 200
    # The fifth failure locks; case and spaces do not make another account of it.
    assert _sign_in(client, f" {owner.email.upper()}", "wrong-4").status_code == LOCKED
    # The right password, even from another address, is refused with the lockout message.
    response = _sign_in(client, owner.email, PASSWORD, address="10.0.0.9")
    assert response.status_code == LOCKED
    assert b"Too many failed sign-ins" in response.content
    assert not _signed_in(client)

    call_command("axes_reset_username", owner.email, stdout=io.StringIO())
    response = _sign_in(client, owner.email, PASSWORD, address="10.0.0.9")
    assert response.status_code == 302 and _signed_in(client)


def test_five_failures_from_one_address_lock_that_address_for_every_account(
    client, owner, teammate
):
    for number in range(5):
        _sign_in(client, f"guess-{number}@alpha.example", "wrong", address="10.0.0.7")
    response = _sign_in(client, teammate.email, PASSWORD, address="10.0.0.7")
    assert response.status_code == LOCKED
    assert b"Too many failed sign-ins" in response.content
    assert not _signed_in(client)
    # Another address is not locked.
    assert _sign_in(client, owner.email, PASSWORD, address="10.0.0.8").status_code == 302
    client.logout()

    call_command("axes_reset_ip", "10.0.0.7", stdout=io.StringIO())
    assert _sign_in(client, teammate.email, PASSWORD, address="10.0.0.7").status_code == 302


def test_a_successful_sign_in_clears_earlier_failures(client, owner):
    for attempt in range(4):
        _sign_in(client, owner.email, f"wrong-{attempt}")
    assert _sign_in(client, owner.email, PASSWORD).status_code == 302
    client.logout()
    for attempt in range(4):
        assert _sign_in(client, owner.email, f"wrong-again-{attempt}").status_code == 200
    assert _sign_in(client, owner.email, PASSWORD).status_code == 302
