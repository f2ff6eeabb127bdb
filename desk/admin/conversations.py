"""The conversations inbox of the sales desk: where reps read chats and take them over.

The list fits a conversation on one line (at 1,400 px): who (an anonymous visitor by its
id), the company, the channel and the last message; a status badge (a flag's reason on
hover); the assigned rep by name; the member's unread customer messages; the last
activity ("3 min ago"). Flagged conversations come first, then the open ones, then the
closed ones, each by last activity. It updates itself (static/desk/inbox.js: the inbox
socket of ``desk/consumers.py``, fed by ``desk/inbox.py`` from crm's domain events) and can
show browser notifications of new and flagged conversations.

The page shows the contact, the company, the opportunities and the whole transcript,
which updates itself (static/desk/conversation.js: the live socket of
``desk/consumers.py``, with an HTTP refresh as fallback). Opening it marks the
conversation read for the member. Its buttons are the workflow's only (no "save and add
another", no delete: deleting stays a list action for those whose role may): take over,
reply (sent on the conversation's own channel), hand back to the bot, close, and create
an opportunity; they go to the views of ``desk/admin/conversation_views.py``. The HTML of
its fields is ``desk/admin/fragments.py``'s templates, the transcript
``desk/transcript.py``'s.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Case, Exists, F, QuerySet, Value, When
from django.http import HttpRequest
from django.urls import URLPattern
from django.utils.translation import gettext_lazy as _

from crm.admin_base import CrmRecordAdmin
from crm.audit import user_display_name
from crm.models import Conversation, Message
from crm.selectors import audit_trail
from desk.admin import fragments
from desk.admin.conversation_views import ConversationViews, action_url
from desk.audit import audit_trail_table
from desk.models import ConversationReadMark
from desk.selectors import (
    contact_is_anonymous,
    contact_label,
    excerpt,
    inbox_annotate,
    quote_drafts,
)
from desk.services import conversation_mark_read
from desk.transcript import transcript_rows, transcript_table
from tenants.admin_base import ReadOnlyAdminMixin, TenantOwnedAdmin
from tenants.scoping import tenant_scope

EMPTY = "—"
Status = Conversation.Status
CLOSED_LAST = Case(When(status=Status.CLOSED, then=Value(1)), default=Value(0))
INBOX_WS_PATH = "/ws/desk/inbox/"


def _member(request: HttpRequest) -> Any:
    return getattr(request, "membership", None)


def _is_tenant_admin(request: HttpRequest) -> bool:
    membership = _member(request)
    return bool(membership is not None and membership.is_tenant_admin)


def _role_label(role: str) -> str:
    return str(Message.Role(role).label) if role in Message.Role.values else role


def _assigns(request: HttpRequest) -> bool:
    """Tenant admins and operators assign conversations; reps take them over."""
    return bool(request.user.is_superuser or _is_tenant_admin(request))


class FlaggedFilter(admin.SimpleListFilter):
    title = _("flagged for a rep")
    parameter_name = "flagged"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", _("Flagged")), ("no", _("Not flagged"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "yes":
            return queryset.filter(needs_attention=True)
        if self.value() == "no":
            return queryset.filter(needs_attention=False)
        return queryset


class QuoteDraftFilter(admin.SimpleListFilter):
    """Conversations with a draft quote waiting for a rep's approval."""

    title = _("quote")
    parameter_name = "quote"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("draft", _("Quote needs approval"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "draft":
            return queryset.filter(Exists(quote_drafts()))
        return queryset


class AssignedFilter(admin.SimpleListFilter):
    title = _("assigned")
    parameter_name = "assigned"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("me", _("Assigned to me")), ("none", _("Unassigned"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "me":
            return queryset.filter(assigned_rep_id=request.user.pk)
        if self.value() == "none":
            return queryset.filter(assigned_rep__isnull=True)
        return queryset


@admin.register(Conversation)
class ConversationAdmin(CrmRecordAdmin):
    list_display = [
        "contact_line",
        "status_flag",
        "assigned_rep_name",
        "unread",
        "last_activity",
    ]
    list_display_links = ["contact_line"]
    list_filter = ["status", "channel", FlaggedFilter, QuoteDraftFilter, AssignedFilter]
    list_select_related = ["contact__division__company", "assigned_rep", "tenant"]
    search_fields = [
        "contact__full_name",
        "contact__email",
        "contact__platform_user_id",
        "contact__division__company__name",
        "messages__content",
    ]
    autocomplete_fields = ["contact"]
    change_form_template = "desk/conversation_change_form.html"
    change_list_template = "admin/crm/conversation/change_list.html"

    class Media:
        css = {"all": ["desk/conversations.css", "desk/quotes.css"]}

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return inbox_annotate(super().get_queryset(request), user_id=request.user.pk)

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        # Live updates for members (their tenant's inbox group); operators refresh over HTTP.
        live = INBOX_WS_PATH if _member(request) is not None else ""
        return super().changelist_view(request, {**(extra_context or {}), "inbox_ws_path": live})

    def get_ordering(self, request: HttpRequest) -> Any:
        # Flagged first, then open before closed, then the latest activity first.
        return [
            F("needs_attention").desc(),
            CLOSED_LAST.asc(),
            F("last_activity_at").desc(nulls_last=True),
            "-pk",
        ]

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            main = ["contact", "channel", "intent_category", "assigned_rep", "summary"]
            if request.user.is_superuser and self._member_tenant(request) is None:
                main.insert(0, "tenant")
            return [(None, {"fields": main})]
        return [
            (
                None,
                {
                    "fields": [
                        "contact_card",
                        "opportunity_links",
                        "quote_links",
                        "channel",
                        "status",
                        "attention",
                        # Reps read the assigned rep by name; admins pick one (by name too).
                        "assigned_rep" if _assigns(request) else "assigned_rep_name",
                        "intent_category",
                        "summary",
                    ]
                },
            ),
            (
                _("Record"),
                {
                    "fields": [
                        "last_activity_at",
                        "closed_at",
                        ("prompt_tokens", "completion_tokens"),
                        "created_at",
                        "updated_at",
                        "is_deleted",
                        "deleted_at",
                    ],
                    "classes": ["collapse"],
                },
            ),
            (_("Transcript"), {"fields": ["transcript"], "classes": ["wide"]}),
            (_("Audit trail"), {"fields": ["audit_trail"], "classes": ["wide"]}),
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is None:
            return readonly
        readonly += [
            "contact_card",
            "opportunity_links",
            "quote_links",
            "channel",
            "status",
            "attention",
            "transcript",
            "audit_trail",
            "last_activity_at",
            "closed_at",
            "prompt_tokens",
            "completion_tokens",
        ]
        if not _assigns(request):
            # A rep takes a conversation with "Take over".
            readonly += ["assigned_rep", "assigned_rep_name"]
        return readonly

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "assigned_rep" and field is not None:
            field.label_from_instance = user_display_name  # names, as the filters show them
        return field

    # ---- list columns -------------------------------------------------------------

    @admin.display(description=_("conversation"), ordering="contact__full_name")
    def contact_line(self, obj: Conversation) -> str:
        contact = obj.contact
        company = contact.company
        role = getattr(obj, "last_role", "") or ""
        speaker = "" if role in ("", Message.Role.USER) else _role_label(role)
        return fragments.inbox_contact(
            label=contact_label(contact),
            anonymous=contact_is_anonymous(contact),
            company=company.name if company is not None else "",
            channel=str(obj.get_channel_display()),
            speaker=speaker,
            excerpt=excerpt(getattr(obj, "last_text", "")),
        )

    @admin.display(description=_("status"), ordering="status")
    def status_flag(self, obj: Conversation) -> str:
        return fragments.inbox_status(obj)

    @admin.display(description=_("assigned rep"), ordering="assigned_rep__first_name")
    def assigned_rep_name(self, obj: Conversation) -> str:
        return user_display_name(obj.assigned_rep) if obj.assigned_rep else EMPTY

    @admin.display(description=_("last activity"), ordering="last_activity_at")
    def last_activity(self, obj: Conversation) -> str:
        return fragments.inbox_when(obj.last_activity_at)

    @admin.display(description=_("unread"), ordering="unread_total")
    def unread(self, obj: Conversation) -> str:
        return fragments.inbox_unread(int(getattr(obj, "unread_total", 0) or 0))

    # ---- the page -----------------------------------------------------------------

    @admin.display(description=_("contact"))
    def contact_card(self, obj: Conversation) -> str:
        return fragments.contact_card(obj.contact)

    @admin.display(description=_("opportunities"))
    def opportunity_links(self, obj: Conversation) -> str:
        return fragments.opportunity_links(obj.opportunities.order_by("-created_at", "-pk"))

    @admin.display(description=_("quotes"))
    def quote_links(self, obj: Conversation) -> str:
        return fragments.quote_links(obj.quotes.order_by("-created_at", "-pk"))

    @admin.display(description=_("flag"))
    def attention(self, obj: Conversation) -> str:
        return fragments.attention(obj)

    @admin.display(description=_("transcript"))
    def transcript(self, obj: Conversation) -> str:
        live = {
            "status": obj.status,
            "ws_path": f"/ws/desk/conversations/{obj.pk}/",
            "json_url": action_url(obj, "messages"),
        }
        return transcript_table(transcript_rows(obj), live=live)

    @admin.display(description=_("audit trail"))
    def audit_trail(self, obj: Conversation) -> str:
        return audit_trail_table(audit_trail(conversation=obj))

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Any = None,
    ) -> Any:
        if obj is not None:
            context["desk"] = ConversationViews(self).page_context(request, obj)
            # The page's buttons are its workflow's: no "save and add another", no
            # "save and continue", no delete (a list action for the roles that may).
            context.update(
                show_save_and_add_another=False,
                show_save_and_continue=False,
                show_delete=False,
            )
            if request.method == "GET" and _member(request) is not None:
                with tenant_scope(obj.tenant):
                    conversation_mark_read(conversation=obj, user=request.user)
        return super().render_change_form(request, context, add, change, form_url, obj)

    # ---- the actions: desk/admin/conversation_views.py ------------------------------

    def get_urls(self) -> list[URLPattern]:
        return [*ConversationViews(self).urls(), *super().get_urls()]


@admin.register(Message)
class MessageAdmin(CrmRecordAdmin):
    list_display = ["__str__", "conversation", "role", "delivery_status", "created_at"]
    list_filter = ["role", "delivery_status"]
    list_select_related = ["conversation__contact"]
    search_fields = ["content", "external_id"]
    autocomplete_fields = ["conversation"]


@admin.register(ConversationReadMark)
class ConversationReadMarkAdmin(ReadOnlyAdminMixin, TenantOwnedAdmin):
    """Where each member stopped reading each conversation (written by the desk only)."""

    list_display = ["conversation", "user", "last_read_at"]
    list_select_related = ["conversation__contact", "user"]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return False  # not a page of its own in the desk's index: the inbox shows it
