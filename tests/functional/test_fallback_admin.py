"""The tenant admin words the replies given without an LLM on their tenant's page: one
labelled text box per text and language, the built-in text as placeholder (in the tenant's
usted or tú), placeholders checked; the formality is a setting of the same page."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from tenants.models import Tenant
from tenants.wording import TEXTS
from tenants.wording_form import field_name

pytestmark = pytest.mark.django_db


def page_url(tenant: Tenant) -> str:
    return reverse("admin:tenants_tenant_change", args=[tenant.pk])


def settings_form(tenant: Tenant, **extra: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": tenant.name,
        "default_language": tenant.default_language,
        "formality": tenant.formality,
        "persona": tenant.persona,
        "sales_instructions": tenant.sales_instructions,
    }
    for language in ("es", "en", "pt"):
        for key in TEXTS:
            data[field_name(language, key)] = ""
    data.update(extra)
    return data


def textarea(html: str, name: str) -> str:
    match = re.search(rf'<textarea name="{name}"[^>]*>(.*?)</textarea>', html, flags=re.DOTALL)
    assert match, name
    return match.group(0)


def test_one_box_per_text_with_the_built_in_text_as_placeholder(client, owner, tenant_a):
    client.force_login(owner)
    html = client.get(page_url(tenant_a)).content.decode()
    for language in ("es", "en", "pt"):
        for key in TEXTS:
            assert f'name="{field_name(language, key)}"' in html
    assert 'placeholder="Si me deja su nombre' in textarea(html, field_name("es", "ask_contact"))
    assert "May use {budget}." in html and "Must keep {email}." in html
    assert 'name="formality"' in html and "fallback_wording" not in html  # no raw JSON

    tenant_a.formality = Tenant.Formality.INFORMAL
    tenant_a.save()
    html = client.get(page_url(tenant_a)).content.decode()
    assert 'placeholder="Si me dejas tu nombre' in textarea(html, field_name("es", "ask_contact"))


def test_the_tenant_admin_words_a_text_and_switches_to_tu(client, owner, tenant_a):
    client.force_login(owner)
    response = client.post(
        page_url(tenant_a),
        settings_form(
            tenant_a,
            formality="informal",
            **{
                field_name("es", "greeting"): "  ¡Hola! Bienvenido a {tenant}.  ",
                field_name("en", "saved_named"): "Thanks {name}, got {fields}",
            },
        ),
    )
    assert response.status_code == 302
    tenant_a.refresh_from_db()
    assert tenant_a.formality == "informal"
    assert tenant_a.fallback_wording == {
        "es.greeting": "¡Hola! Bienvenido a {tenant}.",
        "en.saved_named": "Thanks {name}, got {fields}",
    }
    html = client.get(page_url(tenant_a)).content.decode()
    assert "¡Hola! Bienvenido a {tenant}.</textarea>" in html
    # Emptied, a box goes back to the built-in text.
    client.post(page_url(tenant_a), settings_form(tenant_a))
    tenant_a.refresh_from_db()
    assert tenant_a.fallback_wording == {}


@pytest.mark.parametrize(
    ("key", "text", "error"),
    [
        (
            "greeting",
            "Hola {nombre}",
            "Unknown placeholder(s) {nombre}; this text may use: {tenant}",
        ),
        ("saved_named", "Gracias {name", "Unbalanced braces"),
        ("field_email", "su correo", "Keep {email} in this text."),
        ("thanks", "x" * 601, "at most 600 characters"),
    ],
)
def test_a_wrong_text_is_refused_with_the_reason(client, owner, tenant_a, key, text, error):
    client.force_login(owner)
    response = client.post(
        page_url(tenant_a), settings_form(tenant_a, **{field_name("es", key): text})
    )
    assert response.status_code == 200  # the form again, with the reason
    assert error in response.content.decode().replace("&#x27;", "'")
    tenant_a.refresh_from_db()
    assert tenant_a.fallback_wording == {}


def test_a_post_without_the_boxes_keeps_the_wording(client, owner, tenant_a):
    tenant_a.fallback_wording = {"es.thanks": "¡A mandar!"}
    tenant_a.save()
    client.force_login(owner)
    data = {
        "name": tenant_a.name,
        "default_language": "es",
        "persona": "",
        "sales_instructions": "",
    }
    assert client.post(page_url(tenant_a), data).status_code == 302
    tenant_a.refresh_from_db()
    assert tenant_a.fallback_wording == {"es.thanks": "¡A mandar!"}
    assert tenant_a.formality == "formal"


def test_another_tenants_page_is_not_found(client, outsider, tenant_a):
    client.force_login(outsider)
    assert client.get(page_url(tenant_a)).status_code == 404
    response = client.post(
        page_url(tenant_a), settings_form(tenant_a, **{field_name("es", "thanks"): "hacked"})
    )
    assert response.status_code == 404
    tenant_a.refresh_from_db()
    assert tenant_a.fallback_wording == {}
