from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html

from channels_app.models import ChannelAccount, ConversationRoute
from tenants.admin_base import TenantOwnedAdmin


class ChannelAccountForm(forms.ModelForm):
    """Secrets are write-only: the form never renders them; blank keeps the stored value."""

    class Meta:
        model = ChannelAccount
        fields = [
            "kind",
            "name",
            "is_active",
            "bot_token",
            "webhook_secret",
            "phone_number_id",
            "access_token",
            "app_secret",
            "verify_token",
            "allowed_origins",
            "greeting",
            "color",
        ]
        widgets = {
            name: forms.PasswordInput(render_value=False) for name in ChannelAccount.SECRET_FIELDS
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ChannelAccount.SECRET_FIELDS:
            field = self.fields[name]
            field.required = False
            stored = bool(getattr(self.instance, name, ""))
            field.help_text = (
                "Stored (hidden). Leave blank to keep it." if stored else field.help_text
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for name in ChannelAccount.SECRET_FIELDS:
            if not data.get(name) and self.instance.pk:
                data[name] = getattr(self.instance, name)
        return data


@admin.register(ChannelAccount)
class ChannelAccountAdmin(TenantOwnedAdmin):
    form = ChannelAccountForm
    list_display = ["name", "kind", "is_active", "endpoint", "created_at"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "key"]
    readonly_fields = ["key", "endpoint", "embed_snippet", "api_key_prefix"]

    @admin.display(description="webhook / endpoint")
    def endpoint(self, obj: ChannelAccount) -> str:
        return format_html("<code>{}{}</code>", settings.PUBLIC_BASE_URL, obj.webhook_path())

    @admin.display(description="embed snippet")
    def embed_snippet(self, obj: ChannelAccount) -> str:
        if obj.kind != ChannelAccount.Kind.WIDGET:
            return "-"
        return format_html(
            '<code>&lt;script src="{}/static/widget/widget.js" data-key="{}" async&gt;'
            "&lt;/script&gt;</code>",
            settings.PUBLIC_BASE_URL,
            obj.key,
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "kind"] if obj is not None else fields


@admin.register(ConversationRoute)
class ConversationRouteAdmin(TenantOwnedAdmin):
    list_display = ["conversation", "account", "address", "created_at"]
    list_select_related = ["conversation__contact", "account"]
    search_fields = ["address"]
    readonly_fields = ["conversation", "account", "address"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
