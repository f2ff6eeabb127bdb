"""The demo page: a product page of the demo tenant with its web widget embedded."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from catalog.models import Product
from channels_app.models import ChannelAccount
from tenants.models import Tenant
from tenants.scoping import tenant_scope

DEMO_PRODUCTS = 8


def demo_widget_account(*, slug: str) -> ChannelAccount | None:
    """The first active widget account of the active tenant ``slug``, or None."""
    tenant = Tenant.objects.filter(slug=slug, is_active=True).first()
    if tenant is None:
        return None
    with tenant_scope(tenant):
        return (
            ChannelAccount.objects.select_related("tenant")
            .filter(kind=ChannelAccount.Kind.WIDGET, is_active=True)
            .order_by("pk")
            .first()
        )


def demo_page(request: HttpRequest) -> HttpResponse:
    """The demo tenant's shop window with its widget; a 404 page saying how to seed it."""
    slug = settings.DEMO_TENANT_SLUG
    account = demo_widget_account(slug=slug)
    if account is None:
        return render(request, "widget/demo.html", {"slug": slug}, status=404)
    with tenant_scope(account.tenant):
        products = list(
            Product.objects.filter(is_active=True).order_by("category", "name")[:DEMO_PRODUCTS]
        )
    context = {"account": account, "tenant": account.tenant, "products": products}
    return render(request, "widget/demo.html", context)
