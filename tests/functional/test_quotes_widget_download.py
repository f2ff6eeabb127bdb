"""The signed download of a quote's PDF (``/q/<token>.pdf``, linked from the widget's
chat): a valid link gives the PDF as an attachment no cache keeps; a forged or expired
link, a deleted quote or an inactive tenant's is a 404; a link only ever opens its own
quote, whichever tenant holds it."""

from __future__ import annotations

import io
import time
from decimal import Decimal

import pytest
from django.urls import reverse
from pypdf import PdfReader

from quotes.links import quote_download_token, quote_download_url
from quotes.models import Quote
from tenants.models import Tenant
from tenants.scoping import tenant_scope
from tests.factories import QuoteLineFactory

pytestmark = pytest.mark.django_db


def quote_of(tenant: Tenant, sku: str = "TU-5200") -> Quote:
    with tenant_scope(tenant):
        line = QuoteLineFactory(
            tenant=tenant, product__sku=sku, quantity=2, unit_price=Decimal("1450.00")
        )
        return line.quote


def path_of(quote: Quote) -> str:
    return reverse("quote-download", args=[quote_download_token(quote)])


def test_a_valid_link_downloads_the_pdf_as_an_attachment(client, tenant_a, settings):
    settings.PUBLIC_BASE_URL = "https://app.example"
    quote = quote_of(tenant_a)
    url = quote_download_url(quote)
    assert url.startswith("https://app.example/q/") and url.endswith(".pdf")
    response = client.get(path_of(quote))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="{quote.reference}.pdf"'
    assert response["Cache-Control"] == "private, no-store"
    assert response.content.startswith(b"%PDF")


def forged(token: str) -> str:
    return token[:-2] + ("AA" if not token.endswith("AA") else "BB")


@pytest.mark.parametrize(
    "mangle",
    [
        forged,
        lambda token: token.split(":", 1)[0],  # the key alone, unsigned
        lambda token: "no-such-token",
        lambda token: "x" * 300,
    ],
)
def test_a_forged_link_is_a_404(client, tenant_a, mangle):
    quote = quote_of(tenant_a)
    token = mangle(quote_download_token(quote))
    response = client.get(f"/q/{token}.pdf")
    assert response.status_code == 404
    assert b"%PDF" not in response.content


def test_an_expired_link_is_a_404(client, tenant_a, settings):
    quote = quote_of(tenant_a)
    path = path_of(quote)
    settings.QUOTE_LINK_MAX_AGE = 1
    assert client.get(path).status_code == 200
    time.sleep(2.1)
    assert client.get(path).status_code == 404


def test_a_deleted_quote_or_an_inactive_tenant_is_a_404(client, tenant_a, tenant_b):
    deleted, inactive = quote_of(tenant_a), quote_of(tenant_b)
    with tenant_scope(tenant_a):
        Quote.objects.filter(pk=deleted.pk).delete()  # soft delete
    Tenant.objects.filter(pk=tenant_b.pk).update(is_active=False)
    assert client.get(path_of(deleted)).status_code == 404
    assert client.get(path_of(inactive)).status_code == 404


def test_a_link_opens_its_own_quote_in_its_own_tenant(client, tenant_a, tenant_b):
    """Both tenants have a Q-00001: each link gives its tenant's, never the other's."""
    mine = quote_of(tenant_a, sku="ALPHA-1")
    theirs = quote_of(tenant_b, sku="BRAVO-9")
    with tenant_scope(tenant_a):
        Quote.objects.filter(pk=mine.pk).update(number=1)
    with tenant_scope(tenant_b):
        Quote.objects.filter(pk=theirs.pk).update(number=1)
    texts = {}
    for quote in (mine, theirs):
        response = client.get(path_of(quote))
        assert response.status_code == 200
        texts[quote.pk] = "".join(
            page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages
        )
    assert "ALPHA-1" in texts[mine.pk] and "BRAVO-9" not in texts[mine.pk]
    assert "BRAVO-9" in texts[theirs.pk] and "ALPHA-1" not in texts[theirs.pk]


def test_only_get_is_answered(client, tenant_a):
    assert client.post(path_of(quote_of(tenant_a))).status_code == 405
