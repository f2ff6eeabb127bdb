"""Redaction: known secrets and credential-shaped strings masked in errors and log lines."""

from __future__ import annotations

import logging
from urllib.parse import quote, quote_plus

import pytest

from tenants.redaction import MASK, RedactingFilter, loggers_redact, redact

TOKEN = "7301234567:AAHk3Jx9_qLmN0pQrStUvWxYz-1234567890"


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        (f"POST https://api.telegram.org/bot{TOKEN}/sendMessage failed", "/sendMessage failed"),
        (f"GET https://api.telegram.org/bot{TOKEN.replace(':', '%3A')}/getMe", "/getMe"),
        (f"Unauthorized: token {TOKEN} was revoked", "was revoked"),
        ("Authorization: Bearer EAAGm0PX4ZCpsBAKZB9xyz123 rejected", "Authorization: Bearer"),
        ("GET /webhooks/whatsapp/k/?hub.mode=subscribe&hub.verify_token=abc123def", "hub.mode"),
        ("https://graph.facebook.com/v23.0/me?access_token=xyz789abc&fields=id", "&fields=id"),
        ("Invalid token EAAGm0PX4ZCpsBAKZB9xyz123abc", "Invalid token"),
        ("Incorrect API key provided: sk-proj-abcdefghijklmnop1234", "Incorrect API key"),
        ("cannot connect to redis://:hunter2-password@10.0.0.5:6379/0", "@10.0.0.5:6379/0"),
    ],
)
def test_credential_shapes_are_masked_whoever_they_belong_to(text, kept):
    clean = redact(text)
    assert MASK in clean and kept in clean
    for secret in (TOKEN, "EAAGm0PX4ZCpsBAKZB9xyz123", "abc123def", "xyz789abc", "hunter2"):
        assert secret not in clean
    assert "sk-proj-abcdefghijklmnop1234" not in clean


def test_known_secrets_are_masked_plain_and_url_encoded():
    secret = "my app/secret+value"
    text = f"echo {secret}, {quote(secret, safe='')} and {quote_plus(secret)} done"
    assert redact(text, [secret]) == f"echo {MASK}, {MASK} and {MASK} done"


def test_ordinary_text_and_short_values_are_left_alone():
    text = "Forbidden: bot was blocked by the user (131026: Message undeliverable)"
    assert redact(text, ["", "ab"]) == text
    assert redact("") == ""


def test_the_logging_filter_redacts_a_libraries_records(caplog):
    loggers_redact("tests.unit.lib", "tests.unit.lib")  # added once, however often asked
    logger = logging.getLogger("tests.unit.lib")
    assert sum(isinstance(f, RedactingFilter) for f in logger.filters) == 1
    with caplog.at_level(logging.INFO, logger="tests.unit.lib"):
        logger.info("HTTP Request: POST %s %s", f"https://api.telegram.org/bot{TOKEN}/x", 200)
    assert TOKEN not in caplog.text and "/bot***/x 200" in caplog.text


def test_an_llm_error_echoing_the_api_key_is_redacted(settings):
    from agent.llm import describe_error

    settings.LLM_API_KEY = "deepseek-key-0123456789"
    described = describe_error(ValueError("rejected key deepseek-key-0123456789 for model x"))
    assert described == "ValueError: rejected key *** for model x"
