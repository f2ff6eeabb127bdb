"""The conversations inbox of the sales desk: where reps read chats and take them over.

The list puts flagged conversations first (a fallback answer, a failed delivery, a
handoff request: the reason is shown), then the open ones (the bot's and the reps'),
then the closed ones, each by last activity; it shows the last message and how many
customer messages wait for an answer.

The page shows the contact, the company, the opportunities and the whole transcript,
which updates itself (static/desk/conversation.js: the live socket of
``desk/consumers.py``, with an HTTP refresh as fallback). Its buttons post to the
actions below, which check the rule server-side and write through ``desk/services.py``:
take over, reply (sent on the conversation's own channel), hand back to the bot, close.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
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
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
    JsonResponse,
)
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator
from django.utils.timesince import timesince

from crm.admin_base import CrmRecordAdmin
from crm.audit import Actor, user_display_name
from crm.models import Conversation, Message, Platform
from crm.selectors import audit_trail
from crm.services import (
    conversation_close,
    conversation_hand_back,
    conversation_refusal,
    conversation_take_over,
)
from desk.audit import audit_trail_table
from desk.services import REPLY_MAX_CHARS, conversation_reply
from desk.transcript import transcript_rows, transcript_table

EMPTY = "—"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SHOWN_ROLES = [Message.Role.USER, Message.Role.ASSISTANT, Message.Role.AGENT]
REPLY_ROLES = [Message.Role.ASSISTANT, Message.Role.AGENT]
Status = Conversation.Status
CLOSED_LAST = Case(When(status=Status.CLOSED, then=Value(1)), default=Value(0))
CHANNEL_NOTES: dict[str, str] = {
    Platform.TELEGRAM: "Sent on Telegram under the bot's name; the transcript shows it as yours.",
    Platform.WHATSAPP: "Sent on WhatsApp (only within 24 hours of the customer's last message).",
    Platform.WIDGET: "Shown in the chat widget at once if the visitor is on the page, "
    "else in the chat's history when they come back.",
    Platform.API: "Stored for the CRM to read: the CRM API has no push.",
}


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
        label = obj.get_status_display()
        if not obj.needs_attention:
            return label
        reason = obj.attention_reason or "needs a rep"
        return format_html(
            '{}<span class="desk-flag" title="{}">⚑ {}</span>',
            label,
            reason,
            Truncator(reason).chars(48),
        )

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
        if obj.last_activity_at is None:
            return EMPTY
        exact = timezone.localtime(obj.last_activity_at).strftime("%Y-%m-%d %H:%M")
        return format_html(
            '<span title="{}">{} ago</span>', exact, timesince(obj.last_activity_at, depth=1)
        )

    @admin.display(description="unanswered", ordering="unanswered_total")
    def unanswered(self, obj: Conversation) -> str:
        count = int(getattr(obj, "unanswered_total", 0) or 0)
        return format_html("<strong>{}</strong>", count) if count else "0"

    # ---- the page -----------------------------------------------------------------

    @admin.display(description="contact")
    def contact_card(self, obj: Conversation) -> str:
        contact = obj.contact
        division = contact.division
        lines = [
            format_html(
                '<a href="{}"><strong>{}</strong></a>',
                reverse("admin:crm_contact_change", args=[contact.pk]),
                contact.full_name or str(contact),
            )
        ]
        details = [v for v in (contact.email, contact.phone_number) if v]
        if details:
            lines.append(format_html("{}", " · ".join(details)))
        if division is not None:
            lines.append(
                format_html(
                    '<a href="{}">{}</a> / {}',
                    reverse("admin:crm_company_change", args=[division.company_id]),
                    division.company.name,
                    division.name,
                )
            )
        else:
            lines.append(format_html("{}", "Company not known yet."))
        if contact.problem_statement:
            lines.append(format_html("<em>{}</em>", contact.problem_statement))
        return format_html_join("", "<div>{}</div>", ((line,) for line in lines))

    @admin.display(description="opportunities")
    def opportunity_links(self, obj: Conversation) -> str:
        opportunities = list(obj.opportunities.order_by("-created_at", "-pk"))
        if not opportunities:
            return "None yet."
        return format_html_join(
            "",
            '<div><a href="{}">{}</a> ({})</div>',
            (
                (
                    reverse("admin:crm_leadopportunity_change", args=[o.pk]),
                    Truncator(o.problem_statement).chars(90),
                    o.get_status_display(),
                )
                for o in opportunities
            ),
        )

    @admin.display(description="flag")
    def attention(self, obj: Conversation) -> str:
        if not obj.needs_attention:
            return "Not flagged."
        return format_html(
            '<span class="desk-flag">⚑ {}</span>', obj.attention_reason or "needs a rep"
        )

    @admin.display(description="transcript")
    def transcript(self, obj: Conversation) -> str:
        return transcript_table(
            transcript_rows(obj),
            status=obj.status,
            ws_path=f"/ws/desk/conversations/{obj.pk}/",
            json_url=reverse("admin:crm_conversation_messages", args=[obj.pk]),
        )

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
            context["desk"] = self._desk_context(request, obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _desk_context(self, request: HttpRequest, obj: Conversation) -> dict[str, Any]:
        may_change = self.has_change_permission(request, obj)
        refusal = conversation_refusal(conversation=obj, user=request.user) if may_change else None
        may_act = may_change and refusal is None
        mine = obj.status == Status.HANDED_OFF and obj.assigned_rep_id == request.user.pk
        if obj.status == Status.HANDED_OFF:
            rep = obj.assigned_rep
            who = "you" if mine else (user_display_name(rep) if rep else "no one yet")
            state = f"With a rep ({who}): the bot does not answer."
        elif obj.status == Status.CLOSED:
            state = "Closed."
        else:
            state = "The bot is answering."
        note = CHANNEL_NOTES.get(obj.channel, "")
        if may_act and (obj.status != Status.HANDED_OFF or obj.assigned_rep_id is None):
            note = f"Sending takes the conversation over from the bot. {note}".strip()

        def url(name: str) -> str:
            return reverse(f"admin:crm_conversation_{name}", args=[obj.pk])

        return {
            "state": state,
            "refusal": refusal,
            "may_act": may_act,
            "show_take_over": may_act and not mine,
            "show_hand_back": may_act and obj.status == Status.HANDED_OFF,
            "show_close": may_act and obj.status != Status.CLOSED,
            "may_reply": may_act,
            "reply_note": note,
            "reply_max": REPLY_MAX_CHARS,
            "author_name": user_display_name(request.user),
            "urls": {name: url(name) for name in ("take_over", "reply", "hand_back", "close")},
        }

    # ---- writes go through the services ---------------------------------------------

    def get_urls(self) -> list:
        def route(suffix: str, view: Any, name: str) -> Any:
            return path(
                f"<path:object_id>/{suffix}",
                self.admin_site.admin_view(view),
                name=f"crm_conversation_{name}",
            )

        return [
            route("take-over/", self.take_over_view, "take_over"),
            route("reply/", self.reply_view, "reply"),
            route("hand-back/", self.hand_back_view, "hand_back"),
            route("close/", self.close_view, "close"),
            route("messages.json", self.messages_view, "messages"),
            *super().get_urls(),
        ]

    def _conversation(self, request: HttpRequest, object_id: str) -> Conversation:
        obj = self.get_object(request, unquote(object_id))  # another tenant's: 404
        if not self.has_view_permission(request, obj):
            raise PermissionDenied
        return obj

    def _act(self, request: HttpRequest, object_id: str, action: Any, done: str) -> HttpResponse:
        obj = self._conversation(request, object_id)
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_change_permission(request, obj):
            raise PermissionDenied
        anchor = ""
        try:
            anchor = action(obj) or ""
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
        else:
            self.message_user(request, done, messages.SUCCESS)
        change_url = reverse("admin:crm_conversation_change", args=[obj.pk])
        return HttpResponseRedirect(change_url + anchor)

    def take_over_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        def take(obj: Conversation) -> None:
            conversation_take_over(conversation=obj, actor=Actor.rep(request.user))

        return self._act(request, object_id, take, "You took the conversation over.")

    def reply_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        def reply(obj: Conversation) -> str:
            text = str(request.POST.get("text", ""))
            conversation_reply(conversation=obj, author=request.user, text=text)
            return "#desk-reply"

        return self._act(request, object_id, reply, "Reply stored; it is being sent.")

    def hand_back_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        def hand_back(obj: Conversation) -> None:
            conversation_hand_back(conversation=obj, actor=Actor.rep(request.user))

        return self._act(
            request, object_id, hand_back, "Handed back: the bot answers the next message."
        )

    def close_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        def close(obj: Conversation) -> None:
            conversation_close(conversation=obj, actor=Actor.rep(request.user))

        return self._act(request, object_id, close, "Conversation closed.")

    def messages_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The transcript's rows as JSON: what the page's script refreshes itself from."""
        obj = self._conversation(request, object_id)
        if request.method != "GET":
            return HttpResponseNotAllowed(["GET"])
        return JsonResponse(
            {"status": obj.status, "messages": transcript_rows(obj)},
            headers={"Cache-Control": "no-store"},
        )


@admin.register(Message)
class MessageAdmin(CrmRecordAdmin):
    list_display = ["__str__", "conversation", "role", "delivery_status", "created_at"]
    list_filter = ["role", "delivery_status"]
    list_select_related = ["conversation__contact"]
    search_fields = ["content", "external_id"]
    autocomplete_fields = ["conversation"]
