"""The webhook signature, checked with the receiver's own code (the README's snippet), the
address rules, and the retry delays (full jitter under the schedule's caps)."""

from __future__ import annotations

import time

import pytest

from integrations.webhooks.safety import address_problem, url_shape_problem
from integrations.webhooks.services import retry_delay
from integrations.webhooks.signing import signature_header, signature_verify
from tests.fakes.webhook_receiver import verify

SECRET = "whsec_test-secret"
BODY = b'{"id":"e1","type":"contact.created","data":{"full_name":"Laura G\xc3\xb3mez"}}'


def test_a_receiver_verifies_the_signature_with_the_readme_snippet():
    header = signature_header(SECRET, BODY)
    assert header.startswith("t=") and ",v1=" in header
    assert verify(SECRET, BODY, header)
    assert signature_verify(SECRET, BODY, header)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda h: (SECRET, BODY + b" ", h),  # the body changed
        lambda h: ("whsec_other", BODY, h),  # another endpoint's secret
        lambda h: (SECRET, BODY, h.replace("v1=", "v1=0")),  # a forged signature
        lambda h: (SECRET, BODY, ""),  # no header
        lambda h: (SECRET, BODY, "garbage"),
    ],
)
def test_anything_else_does_not_verify(tamper):
    secret, body, header = tamper(signature_header(SECRET, BODY))
    assert not verify(secret, body, header)
    assert not signature_verify(secret, body, header)


def test_an_old_timestamp_is_a_replay():
    old = int(time.time()) - 301
    header = signature_header(SECRET, BODY, timestamp=old)
    assert not verify(SECRET, BODY, header)
    assert not signature_verify(SECRET, BODY, header)
    assert signature_verify(SECRET, BODY, header, tolerance=600)
    # The timestamp is signed: moving it forward breaks the signature.
    assert not verify(SECRET, BODY, header.replace(f"t={old}", f"t={int(time.time())}"))


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.0.0.8", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("::ffff:10.0.0.1", "private"),
        ("100.64.0.1", "not a public"),
        ("224.0.0.1", "not a public"),
        ("0.0.0.0", "address"),  # noqa: S104 (refused whatever Python calls it)
        ("fd00::1", "private"),
        ("8.8.8.8", None),
        ("2606:4700:4700::1111", None),
    ],
)
def test_only_public_addresses_may_be_called(address, problem):
    found = address_problem(address)
    assert (found is None) if problem is None else (problem in found)


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://crm.example.com/hooks", True),
        ("http://crm.example.com:8080/hooks?x=1", True),
        ("ftp://crm.example.com/", False),
        ("file:///etc/passwd", False),
        ("https://user:pw@crm.example.com/", False),
        ("https:///nohost", False),
        ("https://crm.example.com:99999/", False),
    ],
)
def test_url_shapes(url, ok):
    assert (url_shape_problem(url) is None) is ok


def test_retry_delays_are_full_jitter_under_the_schedule(settings):
    settings.WEBHOOK_RETRY_SCHEDULE = [10.0, 30.0, 60.0]
    for failures, cap in [(1, 10.0), (2, 30.0), (3, 60.0), (7, 60.0)]:
        delays = [retry_delay(failures=failures) for _ in range(300)]
        assert min(delays) >= 0 and max(delays) <= cap
        assert max(delays) > cap * 0.8 and min(delays) < cap * 0.2  # spread over [0, cap]
