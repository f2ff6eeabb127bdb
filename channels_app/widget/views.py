"""The widget's public pages: the demo page (a product page of the demo tenant with its web
widget embedded) and the signed download of a quote's PDF that the widget links to.

:func:`quote_download` (``/q/<token>.pdf``, URL name ``quote-download``) needs no login:
the token is the quote's key signed with ``SECRET_KEY`` and a timestamp
(``quotes.links``). A forged or expired token, or a quote deleted since, is a 404. The
tenant comes from the quote's row: that one read is the only unscoped one, the rest runs
in the tenant's scope. The PDF is an attachment that no cache keeps.
"""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from catalog.models import Product
from channels_app.models import ChannelAccount
from quotes.links import quote_key_from_token
from quotes.models import Quote
from quotes.selectors import quote_by_key
from tenants.models import Tenant
from tenants.scoping import scopes_disabled, tenant_scope

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


def _quote_tenant(key: str) -> Tenant | None:
    """The active tenant whose quote has this key: the key names the tenant, as a channel
    account's key does (``channels_app.selectors.channel_account_for_key``)."""
    with scopes_disabled():
        tenant_id = Quote.objects.filter(public_key=key).values_list("tenant_id", flat=True).first()
    if tenant_id is None:
        return None
    return Tenant.objects.filter(pk=tenant_id, is_active=True).first()


@require_GET
def quote_download(request: HttpRequest, token: str) -> HttpResponse:
    """A quote's PDF for the holder of a valid link (the widget's chat shows it)."""
    from quotes.pdf import quote_pdf_render

    key = quote_key_from_token(token) if len(token) <= 200 else None
    tenant = _quote_tenant(key) if key else None
    if key is None or tenant is None:
        raise Http404("No such quote, or the link has expired.")
    with tenant_scope(tenant):
        quote = quote_by_key(tenant=tenant, key=key)
        if quote is None:  # deleted since
            raise Http404("No such quote, or the link has expired.")
        pdf = quote_pdf_render(quote)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{quote.reference}.pdf"'
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
