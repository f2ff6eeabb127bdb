from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, JsonResponse
from django.urls import path, reverse_lazy
from django.views.generic import RedirectView

from channels_app.api.views import api_messages
from channels_app.telegram.webhook import telegram_webhook
from channels_app.whatsapp.webhook import whatsapp_webhook
from channels_app.widget.views import demo_page
from config.view_on_site import view_on_site
from tenants.views import tenant_logo


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("healthz/", healthz, name="healthz"),
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
    path("api/v1/messages", api_messages, name="api-messages"),
    path("demo/", demo_page, name="demo"),
    path("branding/logos/<str:name>", tenant_logo, name="tenant-logo"),
]
