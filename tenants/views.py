"""The one public view of tenants: a tenant's logo, for the desk's header."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from tenants.branding import LOGO_CSP, LOGO_DIR, LOGO_FILE_NAME, logo_content_type
from tenants.models import Tenant


@require_GET
def tenant_logo(request: HttpRequest, name: str) -> HttpResponse:
    """Serves a logo by its random file name, and nothing but logos.

    Media files are not served in production; this reads the file through the
    storage. The name is looked up on ``Tenant.logo``, so no other stored file
    (catalog uploads, say) can be reached, whatever the name.
    """
    if not LOGO_FILE_NAME.fullmatch(name):
        raise Http404("No such logo.")
    tenant = Tenant.objects.filter(logo=f"{LOGO_DIR}/{name}", is_active=True).first()
    if tenant is None:
        raise Http404("No such logo.")
    try:
        with tenant.logo.open("rb") as handle:
            content = handle.read()
    except FileNotFoundError:
        raise Http404("No such logo.") from None
    response = HttpResponse(content, content_type=logo_content_type(name))
    response["Content-Security-Policy"] = LOGO_CSP
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Disposition"] = "inline"
    # A new logo gets a new name, so a cached copy is never stale for long.
    response["Cache-Control"] = "public, max-age=86400"
    return response
