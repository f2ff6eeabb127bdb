"""The quote as a PDF: what the customer receives on Telegram and WhatsApp or downloads.

:func:`quote_pdf_render` draws one quote with fpdf2 (pure Python; Pillow reads PNG, JPEG
and WebP logos, fpdf2 draws SVG logos as vectors): the tenant's logo and name, the
reference, date and validity, the customer (contact, company and division), the lines,
the totals with the tax, the notes and the tenant's terms. Labels, numbers and dates are
in the quote's language (``1.450,00`` in Spanish, ``1,450.00`` in English). The text is a
subset of DejaVu Sans (``quotes/fonts``: Latin, Greek, currency signs, arithmetic and
technical symbols) embedded in the file, so accents, ``ñ``, ``€``, ``µ``, ``Ω`` and ``±``
print everywhere.

The same quote gives the same bytes: the document's dates are the quote's own. A logo
that cannot be read or drawn is left out (logged), it never stops a quote from going out.
The caller holds the tenant's scope (delivery, the desk, the download view, the command).
"""

from __future__ import annotations

import io
import logging
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.utils import formats, numberformat, timezone
from django.utils.translation import get_language, override, pgettext
from fpdf import FPDF
from fpdf.enums import ResourceAccessPolicy, TableBordersLayout, XPos, YPos
from fpdf.fonts import FontFace

from quotes.models import Quote, QuoteLine
from tenants.branding import LOGO_MAX_BYTES, logo_kind

logger = logging.getLogger(__name__)

FONT_DIR = Path(__file__).resolve().parent / "fonts"
FONT = "DejaVuSans"
INK = (33, 37, 41)
MUTED = (108, 117, 125)
RULE = (206, 212, 218)
HEAD_FILL = (241, 243, 245)
LOGO_MAX_W, LOGO_MAX_H = 50.0, 20.0
NO_DISCOUNT = "\u2013"  # an en dash


def amount_format(value: Decimal | int, places: int) -> str:
    """``value`` in the active language's notation with thousands grouped: ``1.450,00``
    where the decimal mark is a comma (as Spanish and Portuguese invoices write money;
    Django's Spanish format would group with a space), ``1,450.00`` otherwise. The same
    rule as the desk's amounts."""
    decimal_sep = str(formats.get_format("DECIMAL_SEPARATOR"))
    return numberformat.format(
        value,
        decimal_sep,
        decimal_pos=places,
        grouping=3,
        thousand_sep="." if decimal_sep == "," else ",",
        force_grouping=True,
    )


def money_format(value: Decimal, currency: str) -> str:
    """``1.450,00 EUR`` in Spanish and Portuguese, ``EUR 1,450.00`` in English."""
    amount = amount_format(value, 2)
    language = (get_language() or "").split("-", 1)[0]
    return f"{currency} {amount}" if language == "en" else f"{amount} {currency}"


def _percent(value: Decimal) -> str:
    places = 0 if value == value.to_integral_value() else 2
    text = amount_format(value, places)
    if places:
        text = text.rstrip("0")
    english = (get_language() or "").startswith("en")
    return f"{text}%" if english else f"{text} %"


def _day(value: date) -> str:
    return formats.date_format(value, "DATE_FORMAT", use_l10n=True)


def _issued(quote: Quote) -> datetime:
    return quote.created_at or timezone.now()


class _Document(FPDF):
    """A4 portrait; the footer names the quote and the page."""

    footer_text = ""

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, size=7.5)
        self.set_text_color(*MUTED)
        page = pgettext("quote PDF", "Page %(page)s of %(pages)s") % {
            "page": self.page_no(),
            "pages": "{nb}",
        }
        self.cell(0, 5, self.footer_text, align="L")
        self.set_x(self.l_margin)
        self.cell(0, 5, page, align="R")


def _new_document(quote: Quote) -> _Document:
    pdf = _Document(orientation="portrait", unit="mm", format="A4")
    # Nothing a logo names is fetched: an SVG's <image href> to a file or a URL would read
    # the server's disk (another tenant's uploads) or call out from the worker.
    pdf.resource_access_policy = ResourceAccessPolicy.NONE
    pdf.add_font(FONT, style="", fname=FONT_DIR / "DejaVuSans.ttf")
    pdf.add_font(FONT, style="B", fname=FONT_DIR / "DejaVuSans-Bold.ttf")
    pdf.set_margins(18, 16, 18)
    pdf.set_auto_page_break(auto=True, margin=18)
    issued = _issued(quote)
    pdf.set_creation_date(issued)
    pdf.set_title(f"{quote.reference} · {quote.tenant.name}")
    pdf.set_author(quote.tenant.name)
    pdf.set_creator("quotes.pdf (fpdf2)")
    pdf.set_lang(quote.language or "es")
    pdf.footer_text = f"{quote.tenant.name} · {quote.reference}"
    pdf.add_page()
    return pdf


def _logo_bytes(quote: Quote) -> bytes | None:
    logo = quote.tenant.logo
    if not logo:
        return None
    try:
        with logo.open("rb") as handle:
            data = handle.read(LOGO_MAX_BYTES + 1)
    except OSError as error:
        logger.warning("quote %s: logo %s unreadable: %s", quote.pk, logo.name, error)
        return None
    return data if data and len(data) <= LOGO_MAX_BYTES else None


def _svg_for_fpdf(data: bytes) -> bytes:
    """fpdf2 recognises SVG bytes by their opening ``<?xml``/``<svg``; a logo that opens
    with a comment or a doctype (allowed by tenants.branding) gets an XML declaration."""
    text = data.decode("utf-8-sig").strip()
    if not (text.startswith("<?xml ") or text.startswith("<svg ")):
        text = '<?xml version="1.0" encoding="utf-8"?>\n' + text
    return text.encode("utf-8")


def _draw_logo(pdf: FPDF, quote: Quote) -> float:
    """The logo at the top left, fitted in its box; returns the height used (0 if none)."""
    data = _logo_bytes(quote)
    if data is None:
        return 0.0
    kind = logo_kind(data[:2048])
    if kind is None:
        logger.warning("quote %s: logo %s is not an image we draw", quote.pk, quote.tenant.logo)
        return 0.0
    source = io.BytesIO(_svg_for_fpdf(data) if kind == "svg" else data)
    try:
        info = pdf.image(
            source,
            x=pdf.l_margin,
            y=pdf.t_margin,
            w=LOGO_MAX_W,
            h=LOGO_MAX_H,
            keep_aspect_ratio=True,
            resource_access_policy=ResourceAccessPolicy.NONE,
        )
    except Exception as error:  # a logo the library cannot draw is left out, never fatal
        logger.warning("quote %s: logo %s not drawn: %s", quote.pk, quote.tenant.logo, error)
        return 0.0
    width, height = float(info.rendered_width), float(info.rendered_height)
    return height if width and height else LOGO_MAX_H


def _header(pdf: FPDF, quote: Quote) -> None:
    logo_height = _draw_logo(pdf, quote)
    right = pdf.w - pdf.r_margin
    column = 85.0
    pdf.set_xy(right - column, pdf.t_margin)
    pdf.set_text_color(*INK)
    pdf.set_font(FONT, "B", 17)
    pdf.cell(
        column,
        8,
        pgettext("quote PDF", "Quote %(reference)s") % {"reference": quote.reference},
        align="R",
    )
    pdf.set_xy(right - column, pdf.t_margin + 9)
    pdf.set_font(FONT, size=9)
    pdf.set_text_color(*MUTED)
    rows = [
        (pgettext("quote PDF", "Date"), _day(timezone.localtime(_issued(quote)).date())),
        (pgettext("quote PDF", "Valid until"), _day(quote.valid_until)),
    ]
    if quote.status == Quote.Status.DRAFT:
        rows.append(
            (pgettext("quote PDF", "Status"), pgettext("quote PDF", "Draft, not yet approved"))
        )
    for label, value in rows:
        pdf.set_x(right - column)
        pdf.cell(column, 5, f"{label}: {value}", align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    header_bottom = pdf.get_y()
    pdf.set_xy(pdf.l_margin, pdf.t_margin + logo_height + (3 if logo_height else 0))
    pdf.set_text_color(*INK)
    pdf.set_font(FONT, "B", 12)
    pdf.multi_cell(
        pdf.epw - column - 4, 6, quote.tenant.name, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT
    )
    pdf.set_y(max(pdf.get_y(), header_bottom) + 6)


def _customer(pdf: FPDF, quote: Quote) -> None:
    contact = quote.contact
    division = contact.division
    lines = []
    if contact.full_name:
        lines.append(contact.full_name)
    if division is not None:
        lines.append(f"{division.company.name} · {division.name}")
    if contact.email:
        lines.append(pgettext("quote PDF", "E-mail") + f": {contact.email}")
    if contact.phone_number:
        lines.append(pgettext("quote PDF", "Phone") + f": {contact.phone_number}")
    if not lines:
        return
    pdf.set_font(FONT, "B", 9)
    pdf.set_text_color(*MUTED)
    pdf.cell(0, 5, pgettext("quote PDF", "Customer").upper(), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(*INK)
    for index, text in enumerate(lines):
        pdf.set_font(FONT, "B" if index == 0 and contact.full_name else "", 10)
        pdf.multi_cell(0, 5, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(5)


def _lines_table(pdf: FPDF, quote: Quote, lines: list[QuoteLine]) -> None:
    headings = [
        pgettext("quote PDF", "SKU"),
        pgettext("quote PDF", "Product"),
        pgettext("quote PDF", "Qty"),
        pgettext("quote PDF", "Unit price"),
        pgettext("quote PDF", "Discount"),
        pgettext("quote PDF", "Total"),
    ]
    pdf.set_font(FONT, size=8.5)
    pdf.set_text_color(*INK)
    pdf.set_draw_color(*RULE)
    heading_style = FontFace(emphasis="BOLD", color=INK, fill_color=HEAD_FILL, size_pt=8)
    with pdf.table(
        col_widths=(23, 52, 10, 21, 19, 25),
        text_align=("LEFT", "LEFT", "RIGHT", "RIGHT", "RIGHT", "RIGHT"),
        borders_layout=TableBordersLayout.HORIZONTAL_LINES,
        headings_style=heading_style,
        line_height=4.2,
        padding=(1.1, 1.4),
        v_align="TOP",
        width=pdf.epw,
    ) as table:
        heading = table.row()
        for text in headings:
            heading.cell(text)
        for line in lines:
            row = table.row()
            row.cell(line.sku)
            row.cell(line.name)
            row.cell(amount_format(line.quantity, 0))
            row.cell(amount_format(line.unit_price, 2))
            row.cell(_percent(line.discount_percent) if line.discount_percent else NO_DISCOUNT)
            row.cell(amount_format(line.line_total, 2))
    pdf.ln(3)


def _totals(pdf: FPDF, quote: Quote) -> None:
    rows = [
        (pgettext("quote PDF", "Subtotal"), money_format(quote.subtotal, quote.currency), ""),
        (
            pgettext("quote PDF", "Tax (%(rate)s)") % {"rate": _percent(quote.tax_rate)},
            money_format(quote.tax_amount, quote.currency),
            "",
        ),
        (pgettext("quote PDF", "Total"), money_format(quote.total, quote.currency), "B"),
    ]
    label_width, value_width = 45.0, 38.0
    x = pdf.w - pdf.r_margin - label_width - value_width
    if pdf.will_page_break(3 * 6 + 4):
        pdf.add_page()
    for label, value, style in rows:
        pdf.set_x(x)
        pdf.set_font(FONT, style, 11 if style else 9.5)
        if style:
            pdf.set_draw_color(*INK)
            pdf.line(x, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
        pdf.cell(label_width, 6.5 if style else 5.5, label, align="L")
        pdf.cell(
            value_width,
            6.5 if style else 5.5,
            value,
            align="R",
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
    pdf.ln(6)


def _section(pdf: FPDF, title: str, text: str, size: float) -> None:
    text = text.strip()
    if not text:
        return
    if pdf.will_page_break(14):
        pdf.add_page()
    pdf.set_font(FONT, "B", 9)
    pdf.set_text_color(*MUTED)
    pdf.cell(0, 5, title.upper(), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, size=size)
    pdf.set_text_color(*INK)
    pdf.multi_cell(0, size * 0.5, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)


def quote_lines_for_pdf(quote: Quote) -> list[QuoteLine]:
    return list(
        QuoteLine.objects.filter(tenant_id=quote.tenant_id, quote=quote).order_by("position", "pk")
    )


def quote_pdf_render(quote: Quote) -> bytes:
    """The quote's PDF in the quote's language (see the module's docstring)."""
    lines = quote_lines_for_pdf(quote)
    with override(quote.language or quote.tenant.default_language):
        pdf = _new_document(quote)
        _header(pdf, quote)
        _customer(pdf, quote)
        _lines_table(pdf, quote, lines)
        _totals(pdf, quote)
        _section(pdf, pgettext("quote PDF", "Notes"), quote.notes, 9.5)
        _section(pdf, pgettext("quote PDF", "Terms and conditions"), quote.tenant.quote_terms, 8)
        output: Any = pdf.output()
    return bytes(output)
