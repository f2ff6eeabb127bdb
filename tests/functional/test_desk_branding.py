"""Tenant branding: a tenant admin uploads a logo on their tenant's page; the desk's
header shows it to the tenant's members; a small view serves logos, and only logos,
with headers that keep an SVG inert."""

from __future__ import annotations

import base64

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from catalog.models import CatalogUpload
from tenants.branding import LOGO_CSP
from tenants.models import Tenant

pytestmark = pytest.mark.django_db

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
WEBP = (
    b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00"
    b"/\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00"
)
SVG = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<!-- Alpha -->\n'
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10">'
    b'<rect width="10" height="10" fill="#0b6e4f"/></svg>'
)


def _settings_form(tenant: Tenant, **extra: object) -> dict[str, object]:
    return {
        "name": tenant.name,
        "default_language": tenant.default_language,
        "persona": tenant.persona,
        "sales_instructions": tenant.sales_instructions,
        **extra,
    }


def _upload(client, tenant: Tenant, name: str, content: bytes):
    return client.post(
        reverse("admin:tenants_tenant_change", args=[tenant.pk]),
        _settings_form(tenant, logo=SimpleUploadedFile(name, content)),
    )


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("logo.png", PNG, "image/png"),
        ("Logo.JPG", JPEG, "image/jpeg"),
        ("logo.webp", WEBP, "image/webp"),
        ("logo.svg", SVG, "image/svg+xml"),
    ],
)
def test_tenant_admin_uploads_a_logo_that_the_header_shows(
    client, owner, teammate, outsider, tenant_a, name, content, content_type
):
    client.force_login(owner)
    page = client.get(reverse("admin:tenants_tenant_change", args=[tenant_a.pk]))
    assert b'accept=".png,.jpg,.jpeg,.webp,.svg,image/*"' in page.content
    assert _upload(client, tenant_a, name, content).status_code == 302
    tenant_a.refresh_from_db()
    url = tenant_a.logo_url
    assert url.startswith("/branding/logos/") and not url.startswith("/media")
    assert name.lower() not in url  # a random name, not the uploaded one

    for member in (owner, teammate):
        client.force_login(member)
        header = client.get(reverse("admin:index")).content.decode()
        assert f'<img class="tenant-logo" src="{url}"' in header
        assert "Alpha Labs · Sales desk" in header
    client.force_login(outsider)
    assert url not in client.get(reverse("admin:index")).content.decode()

    client.logout()
    served = client.get(url)  # public, like any logo: the name is the secret
    assert served.status_code == 200
    assert served.content == content
    assert served["Content-Type"] == content_type
    assert served["X-Content-Type-Options"] == "nosniff"
    assert served["Content-Security-Policy"] == LOGO_CSP
    assert LOGO_CSP == "default-src 'none'; style-src 'unsafe-inline'"


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("logo.gif", b"GIF89a\x01\x00\x01\x00", "Upload a PNG, JPEG, SVG or WebP image"),
        ("logo.png", SVG, "not a PNG image"),
        ("logo.jpg", PNG, "not a JPG image"),
        ("logo.webp", b"RIFF\x00\x00\x00\x00WAVEfmt ", "not a WEBP image"),
        ("logo.svg", b"<html><body>hi</body></html>", "not a SVG image"),
        ("logo.svg", SVG.replace(b"<rect", b"<script>alert(1)</script><rect"), "scripts"),
        ("logo.svg", SVG.replace(b"<rect", b'<rect onclick="alert(1)"'), "event handlers"),
        (
            "logo.svg",
            b'<!DOCTYPE svg [<!ENTITY x "y">]><svg xmlns="http://www.w3.org/2000/svg"/>',
            "not a SVG image",
        ),
        ("logo.png", PNG + b"\x00" * (512 * 1024), "larger than 512 KB"),
    ],
)
def test_a_logo_that_is_not_an_allowed_image_is_refused(
    client, owner, tenant_a, name, content, reason
):
    client.force_login(owner)
    response = _upload(client, tenant_a, name, content)
    assert response.status_code == 200
    assert reason in str(response.context["adminform"].form.errors["logo"])
    tenant_a.refresh_from_db()
    assert not tenant_a.logo


def test_a_sales_rep_cannot_change_the_logo(client, teammate, tenant_a):
    client.force_login(teammate)
    response = _upload(client, tenant_a, "logo.png", PNG)
    assert response.status_code == 403
    tenant_a.refresh_from_db()
    assert not tenant_a.logo


def test_replacing_or_clearing_the_logo_deletes_the_old_file(
    client, owner, tenant_a, django_capture_on_commit_callbacks
):
    client.force_login(owner)
    _upload(client, tenant_a, "logo.png", PNG)
    tenant_a.refresh_from_db()
    first = tenant_a.logo.name
    with django_capture_on_commit_callbacks(execute=True):
        _upload(client, tenant_a, "logo.svg", SVG)
    tenant_a.refresh_from_db()
    second = tenant_a.logo.name
    assert second != first
    assert not default_storage.exists(first)
    assert default_storage.exists(second)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("admin:tenants_tenant_change", args=[tenant_a.pk]),
            _settings_form(tenant_a, **{"logo-clear": "on"}),
        )
    tenant_a.refresh_from_db()
    assert not tenant_a.logo
    assert not default_storage.exists(second)
    assert b"tenant-logo" not in client.get(reverse("admin:index")).content


def test_the_logo_view_serves_logos_and_nothing_else(client, owner, tenant_a, rows_a):
    client.force_login(owner)
    _upload(client, tenant_a, "logo.png", PNG)
    tenant_a.refresh_from_db()
    name = tenant_a.logo.name.rsplit("/", 1)[-1]
    upload_name = rows_a[CatalogUpload].file.name
    client.logout()
    assert client.get(tenant_a.logo_url).status_code == 200
    for wrong in [
        "a" * 24 + ".png",  # a well-formed name that is nobody's logo
        name.replace(".png", ".svg"),  # another extension, another content type: no
        upload_name.rsplit("/", 1)[-1],  # another stored file
        "..%2F..%2Fsettings.py",
    ]:
        assert client.get(f"/branding/logos/{wrong}").status_code == 404, wrong
    assert client.get(f"/branding/logos/../{upload_name}").status_code == 404
    assert client.post(tenant_a.logo_url).status_code == 405

    Tenant.objects.filter(pk=tenant_a.pk).update(is_active=False)
    assert client.get(tenant_a.logo_url).status_code == 404
