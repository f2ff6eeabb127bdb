"""Channel accounts for tenant admins: where to point each platform, secrets write-only."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from channels_app.models import ChannelAccount, ConversationRoute, InboundEvent
from channels_app.services import (
    channel_account_problems,
    channel_account_rotate_api_key,
    channel_account_save,
)
from tenants.admin_base import ReadOnlyAdminMixin, TenantOwnedAdmin

Kind = ChannelAccount.Kind

# The fields each kind uses; the others keep their defaults.
KIND_FIELDS: dict[str, tuple[str, ...]] = {
    Kind.TELEGRAM: ("bot_token", "webhook_secret"),
    Kind.WHATSAPP: ("phone_number_id", "access_token", "app_secret", "verify_token"),
    Kind.WIDGET: ("allowed_origins", "greeting", "color"),
    Kind.API: (),
}
KIND_HELP: dict[str, Any] = {
    Kind.TELEGRAM: _(
        "The token from @BotFather. The webhook secret is generated; "
        "set_telegram_webhook registers both with Telegram."
    ),
    Kind.WHATSAPP: _(
        "From the Meta app: phone number id, a permanent access token and the "
        "app secret (it signs the webhooks). The verify token is generated if left blank."
    ),
    Kind.WIDGET: _("The sites allowed to embed the widget, one origin per line."),
}


def copy_button(text: str) -> SafeString:
    """A button that copies ``text`` (static/desk/copy.js)."""
    return format_html(
        '<button type="button" class="button desk-copy" data-copy="{}" data-copied="{}" '
        'data-prompt="{}">{}</button>',
        text,
        gettext("Copied"),
        gettext("Copy this text:"),
        gettext("Copy"),
    )


def _copyable(text: str) -> SafeString:
    return format_html("<code>{}</code> {}", text, copy_button(text))


class ChannelAccountForm(forms.ModelForm):
    """Secrets are write-only: never rendered back; a blank one keeps the stored value."""

    class Meta:
        model = ChannelAccount
        fields = ["kind", "name", "is_active", *(f for fs in KIND_FIELDS.values() for f in fs)]
        widgets = {
            name: forms.PasswordInput(render_value=False) for name in ChannelAccount.SECRET_FIELDS
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ChannelAccount.SECRET_FIELDS:
            if name not in self.fields:
                continue
            field = self.fields[name]
            field.required = False
            # Generated defaults would otherwise be rendered back as a hidden "initial" input.
            field.show_hidden_initial = False
            stored = bool(getattr(self.instance, name, ""))
            if self.instance.pk is None:
                status = gettext("Generated if left blank.") if stored else gettext("Not set.")
            else:
                status = (
                    gettext("Set (hidden). Type a new value to replace it; leave blank to keep it.")
                    if stored
                    else gettext("Not set.")
                )
            field.help_text = f"{status} {field.help_text}".strip()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        assert data is not None  # a ModelForm's clean() returns its cleaned_data
        kind = self.instance.kind if self.instance.pk else data.get("kind")
        used = KIND_FIELDS.get(kind or "", ())
        for name in self.fields:
            secret_kept = name in ChannelAccount.SECRET_FIELDS and not data.get(name)
            unused = name not in used and any(name in fs for fs in KIND_FIELDS.values())
            if secret_kept or unused:
                data[name] = getattr(self.instance, name)
        return data

    def _post_clean(self) -> None:
        super()._post_clean()  # type: ignore[misc]  # Django's private hook, not in django-stubs
        for name, reason in channel_account_problems(account=self.instance).items():
            self.add_error(name if name in self.fields else None, reason)


@admin.register(ChannelAccount)
class ChannelAccountAdmin(TenantOwnedAdmin):
    form = ChannelAccountForm
    list_display = ["name", "kind", "is_active", "webhook_url", "created_at"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "key"]
    readonly_fields = [
        "key",
        "webhook_url",
        "verify_token_for_meta",
        "embed_snippet",
        "api_key_status",
    ]
    actions = ["rotate_api_key", *TenantOwnedAdmin.actions]

    class Media:
        js = ["desk/copy.js"]

    @admin.display(description=_("webhook URL"))
    def webhook_url(self, obj: ChannelAccount) -> str:
        return _copyable(obj.public_endpoint())

    @admin.display(description=_("verify token (paste it into Meta's webhook settings)"))
    def verify_token_for_meta(self, obj: ChannelAccount) -> str:
        return _copyable(obj.verify_token) if obj.verify_token else gettext("Not set.")

    @admin.display(description=_("embed snippet (paste it before </body>)"))
    def embed_snippet(self, obj: ChannelAccount) -> str:
        return _copyable(obj.embed_snippet())

    @admin.display(description=_("API key"))
    def api_key_status(self, obj: ChannelAccount) -> str:
        if not obj.api_key_hash:
            return gettext("Not set: use the “Rotate the API key” action in the list.")
        return format_html(
            gettext(
                "Set: it starts with <code>{}…</code> (only its hash is stored). "
                "Lost it? Rotate it with the action in the list."
            ),
            obj.api_key_prefix,
        )

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        # Operators (no tenant of their own) pick the tenant, then see it read-only.
        tenant = ["tenant"] if self._member_tenant(request) is None else []
        if obj is None:
            return [
                (None, {"fields": [*tenant, "kind", "name", "is_active"]}),
                *(
                    (
                        Kind(kind).label,
                        {
                            "fields": list(fields),
                            "description": f"{KIND_HELP[kind]} "
                            + gettext("Used only by this kind."),
                        },
                    )
                    for kind, fields in KIND_FIELDS.items()
                    if fields
                ),
            ]
        connect = ["webhook_url"]
        if obj.kind == Kind.WHATSAPP and self.has_change_permission(request, obj):
            connect.append("verify_token_for_meta")  # a shared secret: tenant admins only
        elif obj.kind == Kind.WIDGET:
            connect.append("embed_snippet")
        elif obj.kind == Kind.API:
            connect.append("api_key_status")
        fieldsets: list[Any] = [
            (None, {"fields": [*tenant, "kind", "name", "is_active", "key"]}),
            (gettext("Connect"), {"fields": connect}),
        ]
        if KIND_FIELDS[obj.kind]:
            fieldsets.append(
                (
                    gettext("Settings"),
                    {"fields": list(KIND_FIELDS[obj.kind]), "description": KIND_HELP[obj.kind]},
                )
            )
        return fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "kind"] if obj is not None else fields

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        tenant = self._member_tenant(request)
        if not change and tenant is not None:
            obj.tenant = tenant
        api_key = channel_account_save(account=obj)
        if api_key:
            self._show_api_key(request, obj, api_key, rotated=False)

    def _show_api_key(
        self, request: HttpRequest, obj: ChannelAccount, api_key: str, *, rotated: bool
    ) -> None:
        self.message_user(
            request,
            format_html(
                "{} {} {}{}",
                (
                    gettext("New API key of “%(name)s”:")
                    if rotated
                    else gettext("The API key of “%(name)s”:")
                )
                % {"name": obj.name},
                _copyable(api_key),
                gettext("Copy it now: it is shown only this once."),
                " " + gettext("The previous key no longer works.") if rotated else "",
            ),
            messages.WARNING,
        )

    @admin.action(
        description=_("Rotate the API key of selected CRM API accounts (shows the new key once)"),
        permissions=["change"],
    )
    def rotate_api_key(self, request: HttpRequest, queryset: Any) -> None:
        skipped = 0
        for account in queryset:
            if account.kind != Kind.API:
                skipped += 1
                continue
            api_key = channel_account_rotate_api_key(account=account)
            self._show_api_key(request, account, api_key, rotated=True)
        if skipped:
            self.message_user(
                request,
                gettext("Skipped %(count)s account(s) that are not CRM API accounts.")
                % {"count": skipped},
                messages.INFO,
            )


@admin.register(ConversationRoute)
class ConversationRouteAdmin(TenantOwnedAdmin):
    list_display = ["conversation", "account", "address", "created_at"]
    list_select_related = ["conversation__contact", "account"]
    search_fields = ["address"]
    readonly_fields = ["conversation", "account", "address"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(InboundEvent)
class InboundEventAdmin(ReadOnlyAdminMixin, TenantOwnedAdmin):
    """What the webhooks received, before and after a worker resolved it (read only):
    an event still waiting long after it arrived means no worker is running."""

    list_display = ["created_at", "account", "address", "text", "readable", "processed_at"]
    list_filter = ["account", ("processed_at", admin.EmptyFieldListFilter)]
    list_select_related = ["account"]
    search_fields = ["address", "external_id", "text"]
    readonly_fields = [
        "account",
        "external_id",
        "address",
        "text",
        "readable",
        "display_name",
        "language",
        "metadata",
        "processed_at",
    ]
