"""``manage.py quote_pdf`` (the PDF or the quote as JSON, one tenant's quotes only) and
``manage.py quotes_expire`` (open quotes past validity expire, per tenant or all)."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from pypdf import PdfReader

from catalog.models import Product
from crm.audit import Actor
from crm.models import AuditEntry
from quotes.models import Quote
from quotes.services import LineRequest, quote_prepare
from tenants.scoping import tenant_scope
from tests.factories import LeadOpportunityFactory, ProductFactory

pytestmark = pytest.mark.django_db(transaction=True)


def prepare(tenant, lines):
    with tenant_scope(tenant):
        for sku, price in [("HC-2100Q", "1450.00"), ("PH-ELEC-01", "89.90")]:
            if not Product.objects.filter(tenant=tenant, sku=sku).exists():
                ProductFactory(tenant=tenant, sku=sku, price=Decimal(price), currency="EUR")
        opportunity = LeadOpportunityFactory(tenant=tenant)
        return quote_prepare(opportunity=opportunity, lines=lines, actor=Actor.agent())


def run(command: str, *args: str) -> str:
    out = StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def quote(tenant_a):
    tenant_a.quote_tax_rate = Decimal("21")
    tenant_a.default_language = "en"
    tenant_a.save()
    return prepare(tenant_a, [LineRequest("HC-2100Q", 2), LineRequest("PH-ELEC-01", 3)])


@pytest.mark.parametrize("number", ["1", "Q-00001", "q-1", "Q00001"])
def test_out_writes_the_quotes_pdf(tenant_a, quote, tmp_path, number):
    target = tmp_path / "quote.pdf"
    out = run("quote_pdf", "alpha", number, "--out", str(target))
    assert "Q-00001" in out and str(target) in out
    reader = PdfReader(io.BytesIO(target.read_bytes()))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "HC-2100Q" in text and "PH-ELEC-01" in text
    assert "EUR 3,835.34" in text  # (2 x 1,450.00 + 3 x 89.90) x 1.21


def test_json_prints_the_quote(tenant_a, quote):
    printed = json.loads(run("quote_pdf", "alpha", "Q-00001", "--json"))
    assert printed["number"] == 1 and printed["reference"] == "Q-00001"
    assert printed["status"] == "draft" and printed["currency"] == "EUR"
    assert [
        (line["sku"], line["quantity"], line["unit_price"], line["discount"], line["line_total"])
        for line in printed["lines"]
    ] == [
        ("HC-2100Q", 2, "1450.00", "0.00", "2900.00"),
        ("PH-ELEC-01", 3, "89.90", "0.00", "269.70"),
    ]
    assert (printed["subtotal"], printed["tax_rate"], printed["tax"], printed["total"]) == (
        "3169.70",
        "21.00",
        "665.64",
        "3835.34",
    )
    assert printed["valid_until"] == quote.valid_until.isoformat()


def test_json_and_out_together_print_only_the_json(tenant_a, quote, tmp_path):
    target = tmp_path / "q.pdf"
    printed = json.loads(run("quote_pdf", "alpha", "1", "--json", "--out", str(target)))
    assert printed["reference"] == "Q-00001"
    assert target.read_bytes().startswith(b"%PDF-")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["alpha", "7", "--json"], "Tenant 'alpha' has no quote Q-00007."),
        (["nope", "1", "--json"], "No tenant with slug 'nope'"),
        (["alpha", "Q-x1", "--json"], "'Q-x1' is not a quote number"),
        (["alpha", "0", "--json"], "'0' is not a quote number"),
        (["alpha", "1"], "--out FILE"),
    ],
)
def test_bad_input_is_a_clear_error(tenant_a, quote, args, message):
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        run("quote_pdf", *args)


def test_another_tenants_quote_number_is_not_found(tenant_a, tenant_b, quote, tmp_path):
    target = tmp_path / "leak.pdf"
    with pytest.raises(CommandError, match="Tenant 'bravo' has no quote Q-00001"):
        run("quote_pdf", "bravo", "1", "--out", str(target))
    assert not target.exists()
    # bravo's own Q-00001 is bravo's, not alpha's
    prepare(tenant_b, [LineRequest("PH-ELEC-01", 5)])
    printed = json.loads(run("quote_pdf", "bravo", "Q-00001", "--json"))
    assert [line["sku"] for line in printed["lines"]] == ["PH-ELEC-01"]
    assert printed["total"] == "449.50"


def _age(tenant, quote, days: int) -> None:
    with tenant_scope(tenant):
        Quote.objects.filter(pk=quote.pk).update(
            valid_until=timezone.localdate() - timedelta(days=days)
        )


def _status(tenant, quote) -> str:
    with tenant_scope(tenant):
        quote.refresh_from_db()
    return quote.status


def test_quotes_expire_in_one_tenant(tenant_a, tenant_b, quote):
    fresh = prepare(tenant_a, [LineRequest("HC-2100Q", 1)])
    other = prepare(tenant_b, [LineRequest("HC-2100Q", 1)])
    _age(tenant_a, quote, 1)
    _age(tenant_b, other, 1)
    summary = json.loads(run("quotes_expire", "alpha", "--json"))
    assert summary == {"expired": {"alpha": 1}, "total": 1}
    assert _status(tenant_a, quote) == Quote.Status.EXPIRED
    assert _status(tenant_a, fresh) == Quote.Status.DRAFT
    assert _status(tenant_b, other) == Quote.Status.DRAFT
    with tenant_scope(tenant_a):
        entry = AuditEntry.objects.get(action="quotes.quote.expired")
    assert entry.actor_name == "quotes_expire" and entry.note == "Q-00001"


def test_quotes_expire_in_every_active_tenant(tenant_a, tenant_b, quote):
    other = prepare(tenant_b, [LineRequest("HC-2100Q", 1)])
    _age(tenant_a, quote, 3)
    _age(tenant_b, other, 3)
    out = run("quotes_expire")
    assert "2 quote(s) expired in 2 tenant(s)." in out
    assert _status(tenant_b, other) == Quote.Status.EXPIRED
    assert json.loads(run("quotes_expire", "--json"))["total"] == 0  # already done


def test_quotes_expire_skips_an_inactive_tenant(tenant_a, tenant_b, quote):
    other = prepare(tenant_b, [LineRequest("HC-2100Q", 1)])
    _age(tenant_a, quote, 3)
    _age(tenant_b, other, 3)
    tenant_b.is_active = False
    tenant_b.save()
    assert json.loads(run("quotes_expire", "--json"))["expired"] == {"alpha": 1}
    assert _status(tenant_b, other) == Quote.Status.DRAFT


def test_quotes_expire_names_an_unknown_tenant():
    with pytest.raises(CommandError, match="No tenant with slug 'nope'"):
        run("quotes_expire", "nope")
