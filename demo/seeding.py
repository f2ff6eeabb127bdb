"""Demo data for `make run`: a tenant with its members, its catalog and three weeks of history.

The demo tenant gets the demo catalog (demo/demo_catalog.csv), companies,
contacts, ~40 backdated conversations on every channel (some answered by the
fallback, some handed off to a rep) and ~15 opportunities with recommendations,
so the desk's dashboard has something to show. A second tenant with a little
history of its own shows that the demo admin sees only their own rows.
Idempotent: running it again changes nothing.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from catalog.models import Product
from catalog.services import catalog_import
from crm.audit import Actor
from crm.models import (
    Contact,
    Conversation,
    LeadOpportunity,
    Message,
    OpportunityProductRecommendation,
    Platform,
)
from crm.services import (
    company_ensure,
    contact_get_or_create_for_platform,
    contact_link_division,
    conversation_open,
    division_ensure,
    message_add,
    messages_mark_handled,
)
from demo import scripts
from demo.history import history_seed
from quotes.models import Quote
from quotes.services import LineRequest, quote_prepare
from tenants.models import Membership, Tenant
from tenants.scoping import tenant_scope
from tenants.services import member_ensure, tenant_ensure

DEMO_CATALOG = Path(__file__).resolve().parent / "demo_catalog.csv"

DEMO_CHAT = [
    (Message.Role.USER, "Hola, necesito medir turbidez en agua potable, rango 0 a 100 NTU."),
    (
        Message.Role.ASSISTANT,
        "Para agua potable en ese rango le sugiero un turbidímetro de laboratorio con "
        "calibración en formazina. ¿Para qué laboratorio y empresa sería?",
    ),
    (Message.Role.USER, "Para el Lab Aguas de Aguas del Valle. Soy Laura Gómez."),
]


def demo_seed(*, password: str) -> dict[str, Any]:
    """Seed both tenants and their members (with `password`); return the summary."""
    demo, _ = tenant_ensure(slug="demo", name="Hidrolab Demo")
    if not demo.persona:
        demo.persona = "Eres Ana, asesora técnica de Hidrolab: clara, precisa y cordial."
        demo.sales_instructions = (
            "Califica la necesidad (parámetro, rango, muestra, norma) antes de recomendar. "
            "Deriva a un asesor humano para cotizaciones mayores a 10.000 USD."
        )
        demo.quote_tax_rate = Decimal("19")
        demo.quote_terms = (
            "Precios en USD, impuestos incluidos según el detalle. Pago a 30 días. "
            "Entrega en 2-3 semanas desde la orden de compra. Garantía de 24 meses."
        )
        demo.save(
            update_fields=[
                "persona",
                "sales_instructions",
                "quote_tax_rate",
                "quote_terms",
                "updated_at",
            ]
        )
    admin_membership, _ = member_ensure(
        tenant=demo,
        email="admin@demo.example",
        role=Membership.Role.TENANT_ADMIN,
        password=password,
        full_name="Demo Admin",
    )
    rep_membership, _ = member_ensure(
        tenant=demo,
        email="rep@demo.example",
        role=Membership.Role.SALES_REP,
        password=password,
        full_name="Demo Rep",
    )
    with tenant_scope(demo):
        with DEMO_CATALOG.open("rb") as fileobj:
            catalog_import(tenant=demo, fileobj=fileobj, filename=DEMO_CATALOG.name)
        _demo_crm_seed(demo)
        history_seed(
            tenant=demo,
            marker="demo-h",
            companies=scripts.COMPANIES,
            contacts=scripts.CONTACTS,
            plan=scripts.PLAN,
            scripts=scripts.SCRIPTS,
            rep=rep_membership.user,
        )

    other, _ = tenant_ensure(slug="northwind", name="Northwind Sensors")
    other_admin, _ = member_ensure(
        tenant=other,
        email="admin@northwind.example",
        role=Membership.Role.TENANT_ADMIN,
        password=password,
        full_name="Northwind Admin",
    )
    with tenant_scope(other):
        company = company_ensure(
            tenant=other, name="Refinería Costa Norte", fiscal_id="900123456-7"
        )
        division = division_ensure(tenant=other, company=company, name="Instrumentación")
        contact, _ = contact_get_or_create_for_platform(
            tenant=other,
            platform=Platform.WHATSAPP,
            platform_user_id="573001112233",
            full_name="Pedro Ruiz",
        )
        contact_link_division(contact=contact, division=division)
        history_seed(
            tenant=other,
            marker="nw-h",
            companies=scripts.NORTHWIND_COMPANIES,
            contacts=scripts.NORTHWIND_CONTACTS,
            plan=scripts.NORTHWIND_PLAN,
            scripts=scripts.NORTHWIND_SCRIPTS,
            rep=other_admin.user,
            product_names=scripts.NORTHWIND_PRODUCTS,
        )

    summary: dict[str, Any] = {
        "tenants": [demo.slug, other.slug],
        "admin_email": admin_membership.user.email,
        "rep_email": "rep@demo.example",
        "password": password,
    }
    for key, tenant in (("demo_counts", demo), ("northwind_counts", other)):
        with tenant_scope(tenant):
            summary[key] = {
                "products": Product.objects.count(),
                "contacts": Contact.objects.count(),
                "conversations": Conversation.objects.count(),
                "messages": Message.objects.count(),
                "opportunities": LeadOpportunity.objects.count(),
                "recommendations": OpportunityProductRecommendation.objects.count(),
            }
    return summary


def _demo_crm_seed(demo: Tenant) -> None:
    aguas = company_ensure(
        tenant=demo,
        name="Aguas del Valle S.A.",
        fiscal_id="800200300-1",
        crm_company_id="CRM-C-1001",
    )
    lab = division_ensure(tenant=demo, company=aguas, name="Lab Aguas", crm_division_id="CRM-D-11")
    division_ensure(tenant=demo, company=aguas, name="Compras", crm_division_id="CRM-D-12")
    minera = company_ensure(tenant=demo, name="Minera Andina Ltda.", fiscal_id="900555111-2")
    division_ensure(tenant=demo, company=minera, name="Laboratorio Químico")

    laura, _ = contact_get_or_create_for_platform(
        tenant=demo,
        platform=Platform.TELEGRAM,
        platform_user_id="100200300",
        full_name="Laura Gómez",
    )
    if laura.division_id is None:
        laura.email = "laura.gomez@aguasdelvalle.example"
        laura.crm_contact_id = "CRM-P-501"
        laura.problem_statement = "Medición de turbidez en agua potable, 0-100 NTU."
        laura.save()
        contact_link_division(contact=laura, division=lab)
    contact_get_or_create_for_platform(
        tenant=demo,
        platform=Platform.WHATSAPP,
        platform_user_id="573104445566",
        full_name="Carlos Pérez",
    )
    contact_get_or_create_for_platform(
        tenant=demo, platform=Platform.WIDGET, platform_user_id="visitor-7f3a", full_name=""
    )

    conversation = conversation_open(tenant=demo, contact=laura, channel=Platform.TELEGRAM)
    if not conversation.messages.exists():
        seeded = [
            message_add(
                conversation=conversation,
                role=role,
                content=content,
                delivery_status=Message.Delivery.DELIVERED if role != Message.Role.USER else None,
            )
            for role, content in DEMO_CHAT
        ]
        # History, already answered: the worker must not answer it again at start-up
        # (the demo has no Telegram account to send a reply through).
        messages_mark_handled(message_ids=[m.pk for m in seeded if m.role == Message.Role.USER])
    opportunity = LeadOpportunity.objects.filter(conversation=conversation).first()
    if opportunity is None:
        opportunity = LeadOpportunity.objects.create(
            tenant=demo,
            contact=laura,
            conversation=conversation,
            problem_statement=laura.problem_statement,
        )
        product = Product.objects.filter(sku="HL-TUR-5200").first()
        OpportunityProductRecommendation.objects.create(
            tenant=demo,
            opportunity=opportunity,
            product=product,
            product_sku="HL-TUR-5200",
            product_name=product.name if product else "Turbidímetro portátil TU-5200",
            justification="Rango 0-1000 NTU cubre 0-100 NTU con resolución 0,01 NTU; "
            "calibración con formazina según ISO 7027.",
        )
    if not Quote.all_objects.filter(opportunity=opportunity).exists():
        # A draft the agent prepared, waiting for a rep's approval in the desk.
        quote_prepare(
            opportunity=opportunity,
            lines=[LineRequest("HL-TUR-5200", 2), LineRequest("RE-FOR-4000", 3)],
            actor=Actor.agent(),
            notes="Dos equipos para Lab Aguas, con estándar de formazina para la calibración.",
        )
