"""The columns of a catalog file: one list that the import reads by (``catalog.services``
maps a file's header with these names and aliases), the upload page explains (name, other
names, required or not, what it means) and the sample file is written from, so the three
never drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Column:
    name: str  # our field, and the column's name in the sample file
    aliases: tuple[str, ...]  # other headers read as this column (accent- and case-blind)
    meaning: str | Promise
    required: bool = False


COLUMNS: tuple[Column, ...] = (
    Column(
        "sku",
        ("code", "codigo", "referencia", "ref", "part_number", "item_code"),
        _("Your product code, unique in the catalog: a product is updated by its SKU."),
        required=True,
    ),
    Column(
        "name",
        ("nombre", "producto", "product", "product_name", "title", "titulo"),
        _("The product's name, as customers and the agent see it."),
        required=True,
    ),
    Column(
        "category",
        ("categoria", "familia", "family"),
        _("The product family (Turbidimeters, pH meters…): filters and search use it."),
    ),
    Column("brand", ("marca", "fabricante", "manufacturer"), _("The maker or brand.")),
    Column(
        "price",
        ("precio", "unit_price", "precio_unitario"),
        _("Unit price: 1250.50, 1.250,50 and 1,250.50 all read; blank when on request."),
    ),
    Column(
        "currency",
        ("moneda", "divisa"),
        _("The price's ISO 4217 code, such as EUR or USD."),
    ),
    Column(
        "description_html",
        ("description", "descripcion", "descripcion_html"),
        _("What the product is for, as text or HTML (cleaned before search reads it)."),
    ),
    Column(
        "specs_html",
        ("specs", "specifications", "especificaciones", "ficha_tecnica"),
        _(
            "Technical specifications, as text or HTML: ranges such as 0-1000 NTU are "
            "matched against what customers ask for."
        ),
    ),
    Column("url", ("link", "enlace", "product_url"), _("The product's web page (http or https).")),
    Column(
        "is_active",
        ("active", "activo", "enabled"),
        _("yes or no (default yes): an inactive product is kept but never recommended."),
    ),
)

# Every header the import recognises, by our field: the field's own name first.
ALIASES: dict[str, tuple[str, ...]] = {c.name: (c.name, *c.aliases) for c in COLUMNS}
REQUIRED: tuple[str, ...] = tuple(c.name for c in COLUMNS if c.required)

# The formats the upload accepts, as the upload page lists them.
FORMATS: tuple[tuple[str, str | Promise], ...] = (
    (
        "CSV",
        _(
            "UTF-8 (with or without BOM), Windows-1252 or Latin-1; cells separated by "
            "comma, semicolon, tab or |; the first row holds the column names."
        ),
    ),
    ("XLSX", _("Excel: the first sheet, or one named “productos” or “products”.")),
    ("JSON", _('A list of objects, or {"products": [...]}, with the column names as keys.')),
)

# The sample catalog offered for download: a water-analysis lab's instruments.
SAMPLE_ROWS: tuple[dict[str, Any], ...] = (
    {
        "sku": "TU-2100",
        "name": "Turbidímetro portátil TU-2100",
        "category": "Turbidímetros",
        "brand": "Hidrolab",
        "price": Decimal("1250.50"),
        "currency": "EUR",
        "description_html": "<p>Turbidímetro nefelométrico portátil para agua potable y "
        "efluentes, con registro de 500 lecturas.</p>",
        "specs_html": "<ul><li>Rango: 0-1000 NTU</li><li>Resolución: 0,01 NTU</li>"
        "<li>Protección IP67</li></ul>",
        "url": "https://www.example.com/productos/tu-2100",
        "is_active": "yes",
    },
    {
        "sku": "PH-300",
        "name": "Medidor de pH de sobremesa PH-300",
        "category": "Medidores de pH",
        "brand": "Hidrolab",
        "price": Decimal("640.00"),
        "currency": "EUR",
        "description_html": "<p>pHmetro de laboratorio con calibración automática en "
        "hasta 5 puntos.</p>",
        "specs_html": "<ul><li>Rango: 0-14 pH</li><li>Resolución: 0,01 pH</li>"
        "<li>Compensación de temperatura: 0-100 °C</li></ul>",
        "url": "https://www.example.com/productos/ph-300",
        "is_active": "yes",
    },
    {
        "sku": "CD-45",
        "name": "Conductímetro portátil CD-45",
        "category": "Conductímetros",
        "brand": "AquaSense",
        "price": Decimal("890.00"),
        "currency": "EUR",
        "description_html": "<p>Conductividad, TDS y salinidad en campo.</p>",
        "specs_html": "<ul><li>Rango: 0-200 mS/cm</li><li>Precisión: ±0,5 %</li></ul>",
        "url": "https://www.example.com/productos/cd-45",
        "is_active": "yes",
    },
    {
        "sku": "OD-10",
        "name": "Sonda óptica de oxígeno disuelto OD-10",
        "category": "Oxígeno disuelto",
        "brand": "AquaSense",
        "price": Decimal("1980.00"),
        "currency": "USD",
        "description_html": "<p>Sonda luminiscente sin membrana para plantas de "
        "tratamiento de aguas residuales.</p>",
        "specs_html": "<ul><li>Rango: 0-20 mg/L</li><li>Cable de 10 m</li></ul>",
        "url": "https://www.example.com/productos/od-10",
        "is_active": "yes",
    },
    {
        "sku": "CL-7",
        "name": "Fotómetro de cloro libre y total CL-7",
        "category": "Fotómetros",
        "brand": "Hidrolab",
        "price": None,  # on request
        "currency": "",
        "description_html": "<p>Cloro libre y total por el método DPD.</p>",
        "specs_html": "<ul><li>Rango: 0-10 mg/L Cl2</li></ul>",
        "url": "",
        "is_active": "no",
    },
)


def sample_table() -> tuple[list[str], list[list[Any]]]:
    """The sample catalog as a header (every column, in order) and its rows."""
    header = [c.name for c in COLUMNS]
    return header, [[row.get(name) for name in header] for row in SAMPLE_ROWS]
