"""Production settings and headers: ``manage.py check --deploy`` with the README's
documented production settings prints no warning, and pages carry the
Content-Security-Policy."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.urls import reverse

from config.env import csp_directives

ROOT = Path(__file__).resolve().parents[2]


def readme_production_env() -> dict[str, str]:
    """The ``env`` block of the README's Deploy section, as a dict (comments skipped)."""
    readme = (ROOT / "README.md").read_text()
    deploy = readme[readme.index("## Deploy") :]
    block = re.search(r"```env\n(.*?)```", deploy, re.S)
    assert block, "README's Deploy section has no ```env block of production settings"
    pairs = (
        line.split("=", 1)
        for line in block.group(1).splitlines()
        if line.strip() and not line.startswith("#")
    )
    return {name: value for name, value in pairs}


def test_check_deploy_with_the_readmes_production_settings_prints_no_warning(tmp_path):
    documented = readme_production_env()
    # The placeholders get real values; the database is a throwaway SQLite file (the
    # checks do not connect, and mysqlclient is an optional install).
    filled = {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "EMAIL_URL": "smtp+tls://mailer:secret@smtp.example.com:587",
    }
    assert set(filled) <= set(documented)
    unfilled = {k: v for k, v in documented.items() if "<" in v and k not in filled}
    assert not unfilled, f"placeholders this test does not know how to fill: {unfilled}"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "SECURE_", "CSRF_", "SESSION_", "DEBUG"))
    }
    env.update({**documented, **filled, "DJANGO_SETTINGS_MODULE": "config.settings"})
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNINGS" not in output and "System check identified no issues" in output
    # Safe defaults of the production block: webhooks never reach private addresses.
    shown = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "shell", "-c", SHOW_SAFETY_DEFAULTS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert shown.stdout.split()[-2:] == ["False", "False"], shown.stdout + shown.stderr


SHOW_SAFETY_DEFAULTS = (
    "from django.conf import settings; print(settings.DEBUG, settings.WEBHOOK_ALLOW_PRIVATE_URLS)"
)


@pytest.mark.django_db
@pytest.mark.parametrize("url", [reverse("admin:login"), reverse("demo")])
def test_pages_carry_the_content_security_policy(client, url):
    response = client.get(url)
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "object-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "'unsafe-inline'" not in policy.split("style-src-attr")[0]


@pytest.mark.django_db
def test_the_demo_pages_inline_style_and_widget_tag_carry_the_nonce(client):
    response = client.get(reverse("demo"))
    nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"]).group(1)
    assert f'<style nonce="{nonce}">'.encode() in response.content


def test_websockets_to_the_public_host_are_allowed():
    assert (
        "wss://sales.example.com"
        in csp_directives(public_base_url="https://sales.example.com")["connect-src"]
    )
    assert (
        "ws://127.0.0.1:8000"
        in csp_directives(public_base_url="http://127.0.0.1:8000")["connect-src"]
    )
