"""A small real catalog (water analysis, sensors, consumables) and a loader that
imports it through the real import path: cleaning, database and vector index."""

from __future__ import annotations

import io
import json

from catalog.services import ImportSummary, catalog_import
from tenants.models import Tenant
from tenants.scoping import tenant_scope

CATALOG = [
    {
        "sku": "HL-TUR-5200",
        "name": "Turbidímetro portátil TU-5200",
        "category": "Turbidímetros",
        "brand": "Hidrolab",
        "description_html": "<p>Mide la turbidez del agua potable en campo, con batería.</p>"
        "<table><tr><td>Rango</td><td>0-1000 NTU</td></tr></table>",
    },
    {
        "sku": "HL-PH-300",
        "name": "Medidor de pH de mesa PH-300",
        "category": "pH",
        "brand": "Hidrolab",
        "description_html": "<p>pH y temperatura para laboratorio, compensación automática.</p>",
    },
    {
        "sku": "AQ-CON-40",
        "name": "Conductímetro CD-40",
        "category": "Conductividad",
        "brand": "AquaSense",
        "description_html": "<p>Conductividad eléctrica 0-200 mS/cm, resolución 0,1 µS/cm.</p>",
    },
    {
        "sku": "AQ-OD-10",
        "name": "Oxímetro de oxígeno disuelto OD-10",
        "category": "Oxígeno",
        "brand": "AquaSense",
        "description_html": "<p>Oxígeno disuelto en mg/L para acuicultura y plantas de "
        "tratamiento de aguas residuales.</p>",
    },
    {
        "sku": "IN-PT-900",
        "name": "Pressure transmitter PT-900",
        "category": "Presión",
        "brand": "Indusens",
        "description_html": "<p>Industrial pressure sensor 0-16 bar, 4-20 mA output, "
        "stainless steel.</p>",
    },
    {
        "sku": "HL-CL-25",
        "name": "Colorímetro de cloro libre CL-25",
        "category": "Cloro",
        "brand": "Hidrolab",
        "description_html": "<p>Cloro libre y total en piscinas y agua potable, método DPD.</p>",
    },
    {
        "sku": "RE-DPD-100",
        "name": "Reactivo DPD cloro libre, 100 sobres",
        "category": "Reactivos",
        "brand": "Hidrolab",
        "description_html": "<p>Consumible para colorímetro CL-25.</p>",
    },
]


def load(tenant: Tenant, products: list[dict]) -> ImportSummary:
    data = json.dumps(products).encode()
    with tenant_scope(tenant):
        return catalog_import(tenant=tenant, fileobj=io.BytesIO(data), filename="c.json")
