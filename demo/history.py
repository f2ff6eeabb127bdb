"""Writes seed_demo's history: companies, contacts, and backdated conversations with outcomes.

Rows are created through the CRM services, then their timestamps are moved into
the past with queryset updates (``created_at`` is set on insert). Times come from
a fixed random seed, relative to the moment of seeding. The history of a tenant
is written once: its customer messages carry ``external_id``s with a fixed
prefix, and a second run finds them and writes nothing.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from catalog.models import Product
from crm.models import (
    CompanyDivision,
    Contact,
    Conversation,
    LeadOpportunity,
    Message,
    OpportunityProductRecommendation,
)
from crm.services import (
    company_ensure,
    contact_get_or_create_for_platform,
    contact_link_division,
    conversation_start,
    division_ensure,
    message_add,
)
from demo.scripts import (
    CLOSED,
    DemoCompany,
    DemoContact,
    Script,
)
from tenants.models import Tenant

if TYPE_CHECKING:
    from django.contrib.auth.models import User

SEED = 2026
ROLES = {
    "user": Message.Role.USER,
    "bot": Message.Role.ASSISTANT,
    "fallback": Message.Role.ASSISTANT,
    "rep": Message.Role.AGENT,
}


def _divisions(
    tenant: Tenant, companies: Sequence[DemoCompany]
) -> dict[tuple[str, str], CompanyDivision]:
    found: dict[tuple[str, str], CompanyDivision] = {}
    for item in companies:
        company = company_ensure(
            tenant=tenant, name=item.name, fiscal_id=item.fiscal_id, crm_company_id=item.crm_id
        )
        if not company.crm_company_id:
            company.crm_company_id = item.crm_id
            company.save(update_fields=["crm_company_id", "updated_at"])
        for name, crm_id in item.divisions:
            division = division_ensure(
                tenant=tenant, company=company, name=name, crm_division_id=crm_id
            )
            if not division.crm_division_id:
                division.crm_division_id = crm_id
                division.save(update_fields=["crm_division_id", "updated_at"])
            found[item.name, name] = division
    return found


def _contacts(
    tenant: Tenant, companies: Sequence[DemoCompany], people: Sequence[DemoContact]
) -> list[Contact]:
    divisions = _divisions(tenant, companies)
    contacts = []
    for person in people:
        contact, _ = contact_get_or_create_for_platform(
            tenant=tenant,
            platform=person.platform,
            platform_user_id=person.platform_user_id,
            full_name=person.full_name,
        )
        changed = []
        for field, value in (
            ("full_name", person.full_name),
            ("email", person.email),
            ("phone_number", person.phone),
            ("crm_contact_id", person.crm_id or None),
        ):
            if value and not getattr(contact, field):
                setattr(contact, field, value)
                changed.append(field)
        if changed:
            contact.save(update_fields=[*changed, "updated_at"])
        if person.company and contact.division_id is None:
            contact_link_division(
                contact=contact, division=divisions[person.company, person.division]
            )
        contacts.append(contact)
    return contacts


def _start(now: datetime, days_ago: int, hour: int, rng: random.Random) -> datetime:
    minute = rng.randint(0, 59)
    if days_ago == 0:
        return now - timedelta(hours=3, minutes=minute)
    day = timezone.localtime(now).date() - timedelta(days=days_ago)
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def _fields(contact: Contact) -> dict[str, str]:
    company = contact.company
    return {
        "name": contact.full_name.split(" ")[0] if contact.full_name else "",
        "company": company.name if company else "su empresa",
        "email": contact.email or "su correo",
    }


def _conversation(
    *,
    tenant: Tenant,
    number: int,
    marker: str,
    contact: Contact,
    script: Script,
    start: datetime,
    now: datetime,
    days_ago: int,
    rep: User,
    products: dict[str, Product],
    product_names: dict[str, str],
    rng: random.Random,
) -> None:
    conversation = conversation_start(tenant=tenant, contact=contact, channel=contact.platform)
    fields = _fields(contact)
    clock = start
    stamped: list[tuple[Message, datetime]] = []
    decided_at = start
    for index, (kind, text) in enumerate(script.turns, start=1):
        if kind == "user":
            clock += timedelta(seconds=rng.randint(40, 400)) if index > 1 else timedelta(0)
        elif kind == "rep":
            clock += timedelta(minutes=rng.randint(6, 50), seconds=rng.randint(0, 59))
        elif kind == "fallback":
            clock += timedelta(seconds=rng.randint(2, 6))
        else:
            clock += timedelta(seconds=rng.randint(3, 26))
        clock = min(clock, now)
        message = message_add(
            conversation=conversation,
            role=ROLES[kind],
            content=text.format(**fields),
            external_id=f"{marker}{number:02d}-{index}" if kind == "user" else None,
            delivery_status=Message.Delivery.RECEIVED
            if kind == "user"
            else rng.choice([Message.Delivery.DELIVERED, Message.Delivery.READ]),
            answer_mode={"bot": "llm", "fallback": "fallback"}.get(kind, ""),
        )
        if kind == "rep":
            message.author = rep
            message.author_name = rep.get_full_name() or rep.email
        if kind == "bot":
            decided_at = clock
        stamped.append((message, clock))
    if script.failed_delivery:
        last = stamped[-1][0]
        last.delivery_status = Message.Delivery.FAILED
        last.delivery_error = script.attention
    for position, (message, at) in enumerate(stamped):
        message.created_at = message.updated_at = at
        if message.role == Message.Role.USER:
            replies = [t for m, t in stamped[position + 1 :] if m.role != Message.Role.USER]
            message.handled_at = replies[0] if replies else at + timedelta(seconds=2)
    Message.objects.bulk_update(
        [m for m, _ in stamped],
        [
            "created_at",
            "updated_at",
            "handled_at",
            "author",
            "author_name",
            "delivery_status",
            "delivery_error",
        ],
    )

    last_at = stamped[-1][1]
    has_rep = any(kind == "rep" for kind, _ in script.turns)
    status: str
    if script.ends == "auto":
        status = Conversation.Status.CLOSED if days_ago >= 2 else Conversation.Status.ACTIVE
    else:
        status = script.ends
    closed = status == Conversation.Status.CLOSED
    Conversation.objects.filter(pk=conversation.pk).update(
        created_at=start,
        updated_at=last_at,
        last_activity_at=last_at,
        status=status,
        intent_category=script.intent,
        closed_at=min(last_at + timedelta(hours=2), now) if closed else None,
        needs_attention=bool(script.attention) and not closed,
        attention_reason=script.attention,
        assigned_rep=rep if has_rep or status == Conversation.Status.HANDED_OFF else None,
        summary=script.problem if closed else "",
    )
    if not script.problem:
        return
    if not contact.problem_statement:
        contact.problem_statement = script.problem
        contact.save(update_fields=["problem_statement", "updated_at"])
    opportunity = LeadOpportunity.objects.create(
        tenant=tenant,
        contact=contact,
        conversation=conversation,
        status=script.status,
        problem_statement=script.problem,
        assigned_rep=rep if has_rep or script.status != "qualified" else None,
    )
    for sku, justification in script.picks:
        product = products.get(sku)
        OpportunityProductRecommendation.objects.create(
            tenant=tenant,
            opportunity=opportunity,
            product=product,
            product_sku=sku,
            product_name=product.name if product else product_names[sku],
            justification=justification,
        )
    changed_at = last_at if script.status == CLOSED else decided_at
    LeadOpportunity.objects.filter(pk=opportunity.pk).update(
        created_at=decided_at, updated_at=changed_at
    )
    OpportunityProductRecommendation.objects.filter(opportunity=opportunity).update(
        created_at=decided_at, updated_at=decided_at
    )


def history_seed(
    *,
    tenant: Tenant,
    marker: str,
    companies: Sequence[DemoCompany],
    contacts: Sequence[DemoContact],
    plan: Sequence[tuple[int, int, int, str]],
    scripts: Sequence[Script],
    rep: User,
    product_names: dict[str, str] | None = None,
    now: datetime | None = None,
) -> bool:
    """Write the tenant's history once; False when it is there already. Caller holds the scope."""
    if Message.all_objects.filter(tenant=tenant, external_id__startswith=marker).exists():
        return False
    now = now or timezone.now()
    rng = random.Random(SEED)  # noqa: S311 - demo timings, not secrets
    by_key = {script.key: script for script in scripts}
    products = {p.sku: p for p in Product.objects.filter(tenant=tenant)}
    with transaction.atomic():
        people = _contacts(tenant, companies, contacts)
        for number, (days_ago, hour, who, key) in enumerate(plan, start=1):
            _conversation(
                tenant=tenant,
                number=number,
                marker=marker,
                contact=people[who],
                script=by_key[key],
                start=_start(now, days_ago, hour, rng),
                now=now,
                days_ago=days_ago,
                rep=rep,
                products=products,
                product_names=product_names or {},
                rng=rng,
            )
    return True
