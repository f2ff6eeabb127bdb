from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import FileResponse, HttpRequest, JsonResponse
from django.urls import include, path, reverse_lazy
from django.utils.cache import patch_cache_control
from django.views.generic import RedirectView

from channels_app.telegram.webhook import telegram_webhook
from channels_app.whatsapp.webhook import whatsapp_webhook
from channels_app.widget.views import demo_page, quote_download
from config.view_on_site import view_on_site
from integrations.api.app import api_urls
from tenants.views import tenant_logo


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


FAVICON = settings.BASE_DIR / "static" / "favicon.ico"


def favicon(request: HttpRequest) -> FileResponse:
    """Browsers ask every page for /favicon.ico: answer it (cached a day), never a 404."""
    response = FileResponse(open(FAVICON, "rb"), content_type="image/x-icon")  # noqa: SIM115
    patch_cache_control(response, public=True, max_age=86400)
    return response


urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("healthz/", healthz, name="healthz"),
    path("favicon.ico", favicon, name="favicon"),
    # A new member's one-time set-password link (tenants.services.member_set_password_link):
    # Django's password-reset confirmation, before the admin's catch-all.
    path(
        "admin/password/set/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            success_url=reverse_lazy("password_reset_complete")
        ),
        name="password_reset_confirm",
    ),
    path(
        "admin/password/set/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    # Before the admin's own: 404, never a 500, for what the member may not see.
    path(
        "admin/r/<path:content_type_id>/<path:object_id>/",
        admin.site.admin_view(view_on_site),
        name="view-on-site",
    ),
    path("admin/", admin.site.urls),
    path("webhooks/telegram/<str:key>/", telegram_webhook, name="telegram-webhook"),
    path("webhooks/whatsapp/<str:key>/", whatsapp_webhook, name="whatsapp-webhook"),
    # The REST API v1 (integrations.api): its operations, /api/v1/openapi.json, /api/v1/docs,
    # and a problem+json 404 for any other path under the prefix.
    path("api/v1/", include(api_urls())),
    path("demo/", demo_page, name="demo"),
    path("q/<str:token>.pdf", quote_download, name="quote-download"),  # signed: quotes.links
    path("branding/logos/<str:name>", tenant_logo, name="tenant-logo"),
]
