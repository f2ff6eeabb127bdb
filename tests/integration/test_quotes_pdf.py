"""The quote's PDF: what the customer reads, in the quote's language, from the catalog's prices."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from pypdf import PdfReader

from crm.audit import Actor
from quotes.pdf import quote_pdf_render
from quotes.services import LineRequest, quote_lines_set, quote_prepare
from tenants.scoping import tenant_scope
from tests.factories import (
    CompanyDivisionFactory,
    CompanyFactory,
    ContactFactory,
    LeadOpportunityFactory,
    ProductFactory,
)

pytestmark = pytest.mark.django_db(transaction=True)
AGENT = Actor.agent()
REP_NOTES = "Entrega en Málaga; calibración incluida (±0,5 %)."
TERMS = "Pago a 30 días. Garantía de 2 años. Precios en € sin instalación; año 2026, señal 10 %."


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


@pytest.fixture
def quote_for(tenant_a):
    """A quote prepared through the services from tenant A's catalog, in ``language``."""

    def make(language: str, *, notes: str = REP_NOTES, extra_lines=()):
        tenant_a.default_language = language
        tenant_a.quote_tax_rate = Decimal("21")
        tenant_a.quote_terms = TERMS
        tenant_a.save()
        with tenant_scope(tenant_a):
            ProductFactory(
                tenant=tenant_a,
                sku="HC-2100Q",
                name="Turbidímetro portátil HC-2100Q",
                price=Decimal("1450.00"),
                currency="EUR",
            )
            ProductFactory(
                tenant=tenant_a,
                sku="PH-ELEC-01",
                name="Electrodo de pH, cuerpo de vidrio",
                price=Decimal("89.90"),
                currency="EUR",
            )
            company = CompanyFactory(tenant=tenant_a, name="Aguas del Sureste S.A.")
            division = CompanyDivisionFactory(tenant=tenant_a, company=company, name="Lab Aguas")
            contact = ContactFactory(
                tenant=tenant_a,
                division=division,
                full_name="Begoña Núñez",
                email="begona@aguas.example",
                phone_number="+34 600 111 222",
            )
            opportunity = LeadOpportunityFactory(tenant=tenant_a, contact=contact)
            quote = quote_prepare(
                opportunity=opportunity,
                lines=[LineRequest("HC-2100Q", 2), LineRequest("PH-ELEC-01", 1200), *extra_lines],
                actor=AGENT,
                notes=notes,
            )
        return quote

    return make


def render(tenant, quote) -> bytes:
    with tenant_scope(tenant):
        return quote_pdf_render(quote)


def test_the_spanish_pdf_carries_the_lines_totals_validity_and_customer(tenant_a, quote_for):
    quote = quote_for("es")
    data = render(tenant_a, quote)
    assert data.startswith(b"%PDF-")
    text = pdf_text(data)
    # 2 x 1.450,00 + 1.200 x 89,90 = 2.900,00 + 107.880,00 = 110.780,00; 21 % = 23.263,80
    for expected in [
        "Presupuesto Q-00001",
        "Válido hasta",
        "Precio unit.",
        "Impuesto (21 %)",
        "OBSERVACIONES",
        "TÉRMINOS Y CONDICIONES",
        "Alpha Labs",
        "HC-2100Q",
        "PH-ELEC-01",
        "Turbidímetro portátil HC-2100Q",
        "1.450,00",
        "89,90",
        "1.200",
        "2.900,00",
        "107.880,00",
        "110.780,00 EUR",
        "23.263,80 EUR",
        "134.043,80 EUR",
        "21 %",
        "Begoña Núñez",
        "Aguas del Sureste S.A. · Lab Aguas",
        "begona@aguas.example",
        "+34 600 111 222",
        REP_NOTES,
        "Pago a 30 días.",
        "Precios en € sin instalación",
    ]:
        assert expected in text, expected
    assert f"{quote.valid_until.day} de " in text
    assert str(quote.valid_until.year) in text
    assert "1,450.00" not in text


def test_the_english_pdf_writes_numbers_and_dates_the_english_way(tenant_a, quote_for):
    quote = quote_for("en")
    text = pdf_text(render(tenant_a, quote))
    for expected in [
        "Quote Q-00001",
        "Valid until",
        "Unit price",
        "Subtotal",
        "Tax (21%)",
        "1,450.00",
        "1,200",
        "107,880.00",
        "EUR 134,043.80",
        "Begoña Núñez",
        "NOTES",
        "TERMS AND CONDITIONS",
    ]:
        assert expected in text, expected
    month = quote.valid_until.strftime("%b")
    assert re.search(
        rf"Valid until: {month}\.? {quote.valid_until.day}, {quote.valid_until.year}", text
    )
    assert "1.450,00" not in text


def test_a_discounted_line_shows_its_discount_and_the_discounted_total(tenant_a, quote_for):
    quote = quote_for("en")
    with tenant_scope(tenant_a):
        quote = quote_lines_set(
            quote=quote,
            lines=[LineRequest("HC-2100Q", 2, Decimal("12.5")), LineRequest("PH-ELEC-01", 1)],
            actor=Actor.system(),
        )
    text = pdf_text(render(tenant_a, quote))
    assert "12.5%" in text
    assert "2,537.50" in text  # 2 x 1,450.00 less 12.5 %
    assert "EUR 2,627.40" in text  # + 89.90


def test_the_same_quote_renders_the_same_bytes(tenant_a, quote_for):
    quote = quote_for("es")
    assert render(tenant_a, quote) == render(tenant_a, quote)


def test_a_long_quote_breaks_onto_more_pages_and_keeps_every_line(tenant_a, quote_for):
    tenant_a.default_language = "en"
    tenant_a.save()
    with tenant_scope(tenant_a):
        for n in range(40):
            ProductFactory(
                tenant=tenant_a,
                sku=f"ACC-{n:03d}",
                name=f"Accessory {n} with a rather long descriptive name to wrap",
                price=Decimal("10.00") + n,
                currency="EUR",
            )
    quote = quote_for("en", extra_lines=[LineRequest(f"ACC-{n:03d}", n + 1) for n in range(40)])
    data = render(tenant_a, quote)
    assert len(PdfReader(io.BytesIO(data)).pages) >= 2
    text = pdf_text(data)
    for n in range(40):
        assert f"ACC-{n:03d}" in text
    assert "Page 2 of" in text


PNG_1x1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201a5f2b8b2"
    "0000000049454e44ae426082"
)
SVG = (
    b"<!-- the tenant's logo -->\n"
    b'<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40" viewBox="0 0 120 40">'
    b'<rect width="120" height="40" fill="#0b6e4f"/></svg>'
)


def _raster(kind: str) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (60, 20), (11, 110, 79)).save(buffer, format=kind)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("logo.png", PNG_1x1),
        ("logo.jpg", _raster("JPEG")),
        ("logo.webp", _raster("WEBP")),
        ("logo.svg", SVG),
    ],
)
def test_the_tenants_logo_is_drawn(tenant_a, quote_for, settings, tmp_path, name, content):
    settings.MEDIA_ROOT = str(tmp_path)
    quote = quote_for("es")
    without = render(tenant_a, quote)
    tenant_a.logo.save(name, ContentFile(content), save=True)
    quote.tenant.refresh_from_db()
    data = render(tenant_a, quote)
    assert data != without
    page = PdfReader(io.BytesIO(data)).pages[0]
    if not name.endswith(".svg"):
        assert len(page.images) == 1
    else:  # drawn as vector paths: the fill colour is in the page
        assert b"0.0431 0.4314 0.3098 rg" in page.get_contents().get_data()
    assert "Q-00001" in pdf_text(data)


def test_a_logo_that_cannot_be_drawn_is_left_out(tenant_a, quote_for, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    quote = quote_for("es")
    broken = b"\x89PNG\r\n\x1a\n" + b"not really a png" * 10
    tenant_a.logo.save("logo.png", ContentFile(broken), save=True)
    quote.tenant.refresh_from_db()
    data = render(tenant_a, quote)
    assert "HC-2100Q" in pdf_text(data)
    assert not PdfReader(io.BytesIO(data)).pages[0].images


def test_text_the_font_lacks_does_not_stop_the_pdf(tenant_a, quote_for):
    quote = quote_for("es", notes="Cliente: 株式会社 Ивановы; ∑ 12 µS/cm ± 1 % — 25 °C")
    text = pdf_text(render(tenant_a, quote))
    assert "∑ 12 µS/cm ± 1 % — 25 °C" in text
    assert "HC-2100Q" in text


def test_an_svg_logo_cannot_pull_in_a_file_from_the_server(tenant_a, quote_for, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    secret = tmp_path / "another-tenants-logo.png"
    secret.write_bytes(PNG_1x1)
    svg = (
        b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        b'width="120" height="40" viewBox="0 0 120 40">'
        b'<rect width="120" height="40" fill="#0b6e4f"/>'
        b'<image x="0" y="0" width="40" height="40" xlink:href="' + str(secret).encode() + b'"/>'
        b"</svg>"
    )
    quote = quote_for("es")
    tenant_a.logo.save("logo.svg", ContentFile(svg), save=True)
    quote.tenant.refresh_from_db()
    data = render(tenant_a, quote)
    assert "HC-2100Q" in pdf_text(data)
    assert not PdfReader(io.BytesIO(data)).pages[0].images
