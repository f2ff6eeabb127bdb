"""The conversations inbox of the sales desk: where reps read chats and take them over.

The list puts flagged conversations first (a fallback answer, a failed delivery, a
handoff request: the reason is shown), then the open ones (the bot's and the reps'),
then the closed ones, each by last activity; it shows the last message and how many
customer messages wait for an answer.

The page shows the contact, the company, the opportunities and the whole transcript,
which updates itself (static/desk/conversation.js: the live socket of
``desk/consumers.py``, with an HTTP refresh as fallback). Its buttons post to the
actions of ``desk/admin/conversation_views.py``: take over, reply (sent on the
conversation's own channel), hand back to the bot, close. The HTML of its fields is
``desk/admin/fragments.py``'s templates, the transcript ``desk/transcript.py``'s.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.contrib import admin
from django.db.models import (
    Case,
    Count,
    DateTimeField,
    F,
    IntegerField,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.urls import URLPattern
from django.utils.text import Truncator

from crm.admin_base import CrmRecordAdmin
from crm.audit import user_display_name
from crm.models import Conversation, Message
from crm.selectors import audit_trail
from desk.admin import fragments
from desk.admin.conversation_views import ConversationViews, action_url
from desk.audit import audit_trail_table
from desk.transcript import transcript_rows, transcript_table

EMPTY = "—"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SHOWN_ROLES = [Message.Role.USER, Message.Role.ASSISTANT, Message.Role.AGENT]
REPLY_ROLES = [Message.Role.ASSISTANT, Message.Role.AGENT]
Status = Conversation.Status
CLOSED_LAST = Case(When(status=Status.CLOSED, then=Value(1)), default=Value(0))


def _member(request: HttpRequest) -> Any:
    return getattr(request, "membership", None)


def _is_tenant_admin(request: HttpRequest) -> bool:
    membership = _member(request)
    return bool(membership is not None and membership.is_tenant_admin)


class FlaggedFilter(admin.SimpleListFilter):
    title = "flagged for a rep"
    parameter_name = "flagged"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Flagged"), ("no", "Not flagged")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "yes":
            return queryset.filter(needs_attention=True)
        if self.value() == "no":
            return queryset.filter(needs_attention=False)
        return queryset


class AssignedFilter(admin.SimpleListFilter):
    title = "assigned"
    parameter_name = "assigned"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("me", "Assigned to me"), ("none", "Unassigned")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "me":
            return queryset.filter(assigned_rep_id=request.user.pk)
        if self.value() == "none":
            return queryset.filter(assigned_rep__isnull=True)
        return queryset


def _annotate(queryset: QuerySet) -> QuerySet:
    """The last message (text and role), the last reply's time and the unanswered count."""
    of_row = Message.objects.filter(conversation=OuterRef("pk"))
    latest = of_row.filter(role__in=SHOWN_ROLES).order_by("-created_at", "-pk")
    last_reply = of_row.filter(role__in=REPLY_ROLES).order_by("-created_at", "-pk")
    waiting = (
        Message.objects.filter(conversation=OuterRef("pk"), role=Message.Role.USER)
        .filter(created_at__gt=Coalesce(OuterRef("last_reply_at"), Value(EPOCH)))
        .order_by()
        .values("conversation")
        .annotate(total=Count("pk"))
        .values("total")
    )
    return queryset.annotate(
        last_text=Subquery(latest.values("content")[:1]),
        last_role=Subquery(latest.values("role")[:1]),
        last_reply_at=Subquery(last_reply.values("created_at")[:1], output_field=DateTimeField()),
    ).annotate(
        unanswered_total=Coalesce(Subquery(waiting, output_field=IntegerField()), Value(0)),
    )


@admin.register(Conversation)
class ConversationAdmin(CrmRecordAdmin):
    list_display = [
        "contact_name",
        "company",
        "channel",
        "status_flag",
        "assigned_rep_name",
        "unanswered",
        "last_activity",
        "last_message",  # the widest: last, so the figures stay in view on narrow screens
    ]
    list_display_links = ["contact_name"]
    list_filter = ["status", "channel", FlaggedFilter, AssignedFilter]
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

    class Media:
        css = {"all": ["desk/conversations.css"]}

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return _annotate(super().get_queryset(request))

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
                        "channel",
                        "status",
                        "attention",
                        "assigned_rep",
                        "intent_category",
                        "summary",
                    ]
                },
            ),
            (
                "Record",
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
            ("Transcript", {"fields": ["transcript"], "classes": ["wide"]}),
            ("Audit trail", {"fields": ["audit_trail"], "classes": ["wide"]}),
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is None:
            return readonly
        readonly += [
            "contact_card",
            "opportunity_links",
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
        if not (request.user.is_superuser or _is_tenant_admin(request)):
            readonly.append("assigned_rep")  # a rep takes a conversation with "Take over"
        return readonly

    # ---- list columns -------------------------------------------------------------

    @admin.display(description="status", ordering="status")
    def status_flag(self, obj: Conversation) -> str:
        return fragments.status_flag(obj)

    @admin.display(description="contact", ordering="contact__full_name")
    def contact_name(self, obj: Conversation) -> str:
        contact = obj.contact
        return contact.full_name or contact.email or contact.platform_user_id or str(contact)

    @admin.display(description="company", ordering="contact__division__company__name")
    def company(self, obj: Conversation) -> str:
        company = obj.contact.company
        return company.name if company is not None else EMPTY

    @admin.display(description="assigned rep", ordering="assigned_rep__email")
    def assigned_rep_name(self, obj: Conversation) -> str:
        return user_display_name(obj.assigned_rep) if obj.assigned_rep else EMPTY

    @admin.display(description="last message")
    def last_message(self, obj: Conversation) -> str:
        text = getattr(obj, "last_text", None)
        if not text:
            return EMPTY
        role = getattr(obj, "last_role", "")
        who = str(Message.Role(role).label) if role in Message.Role.values else role
        return f"{who}: {Truncator(' '.join(text.split())).chars(60)}"

    @admin.display(description="last activity", ordering="last_activity_at")
    def last_activity(self, obj: Conversation) -> str:
        return fragments.time_ago(obj.last_activity_at)

    @admin.display(description="unanswered", ordering="unanswered_total")
    def unanswered(self, obj: Conversation) -> str:
        return fragments.unanswered(int(getattr(obj, "unanswered_total", 0) or 0))

    # ---- the page -----------------------------------------------------------------

    @admin.display(description="contact")
    def contact_card(self, obj: Conversation) -> str:
        return fragments.contact_card(obj.contact)

    @admin.display(description="opportunities")
    def opportunity_links(self, obj: Conversation) -> str:
        return fragments.opportunity_links(obj.opportunities.order_by("-created_at", "-pk"))

    @admin.display(description="flag")
    def attention(self, obj: Conversation) -> str:
        return fragments.attention(obj)

    @admin.display(description="transcript")
    def transcript(self, obj: Conversation) -> str:
        live = {
            "status": obj.status,
            "ws_path": f"/ws/desk/conversations/{obj.pk}/",
            "json_url": action_url(obj, "messages"),
        }
        return transcript_table(transcript_rows(obj), live=live)

    @admin.display(description="audit trail")
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
