"""The conversation page's actions: what its bar offers the member looking at it, the views
its buttons post to (take over, reply, hand back, close), the transcript's rows as JSON,
which the page's script refreshes itself from, and "create an opportunity": a small form
(the problem statement prefilled from the customer's messages, value, currency, expected
close date, next step) whose opportunity ``crm.services.opportunity_create`` registers for
the conversation's contact, as the rep; invalid input is answered 400 with the form and
its errors.

Every view finds the conversation through the admin (another tenant's is a 404), checks the
member's permission and the rule server-side, and writes through the services:
``crm.services`` for the conversation's state, ``desk.services`` for a rep's reply (sent on
the conversation's own channel). URLs and their names are the admin's:
``admin:crm_conversation_<take_over|reply|hand_back|close|messages|create_opportunity>``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
    JsonResponse,
)
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from crm.admin_base import CrmRecordAdmin
from crm.audit import Actor, user_display_name
from crm.models import Conversation, LeadOpportunity, Message, Platform
from crm.services import (
    conversation_close,
    conversation_hand_back,
    conversation_refusal,
    conversation_take_over,
    opportunity_create,
)
from desk.services import REPLY_MAX_CHARS, conversation_reply
from desk.transcript import transcript_rows

Status = Conversation.Status
ACTIONS = ("take_over", "reply", "hand_back", "close")
CHANNEL_NOTES: dict[str, Any] = {
    Platform.TELEGRAM: _(
        "Sent on Telegram under the bot's name; the transcript shows it as yours."
    ),
    Platform.WHATSAPP: _("Sent on WhatsApp (only within 24 hours of the customer's last message)."),
    Platform.WIDGET: _(
        "Shown in the chat widget at once if the visitor is on the page, "
        "else in the chat's history when they come back."
    ),
    Platform.API: _("Stored for the CRM to read: the CRM API has no push."),
}

ADD_OPPORTUNITY = "crm.add_leadopportunity"
PROBLEM_MAX_CHARS = 2000
DEFAULT_CURRENCY = "EUR"
CURRENCY_CODE = re.compile(r"^[A-Z]{3}$")


class OpportunityFromConversationForm(forms.Form):
    """What a rep says about the deal a conversation is about."""

    problem_statement = forms.CharField(
        label=_("Problem statement"),
        max_length=PROBLEM_MAX_CHARS * 2,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("What the customer needs, in their words: prefilled from their messages."),
    )
    value = forms.DecimalField(
        label=_("Value"), required=False, min_value=0, max_digits=14, decimal_places=2
    )
    currency = forms.CharField(
        label=_("Currency"),
        required=False,
        max_length=16,  # longer input is refused by clean_currency, with the reason
        help_text=_("ISO 4217 code, e.g. EUR or USD."),
        widget=forms.TextInput(attrs={"size": 4}),
    )
    expected_close_date = forms.DateField(
        label=_("Expected close date"),
        required=False,
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    next_step = forms.CharField(label=_("Next step"), required=False, max_length=255)

    def clean_currency(self) -> str:
        code = str(self.cleaned_data.get("currency") or "").strip().upper()
        if code and not CURRENCY_CODE.match(code):
            raise ValidationError(_("Write the currency as three letters (ISO 4217), e.g. EUR."))
        return code

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("value") is not None and not data.get("currency"):
            self.add_error("currency", _("Say which currency the value is in."))
        return data


def customer_words(conversation: Conversation) -> str:
    """The customer's messages, oldest first, as many of the latest as fit the box."""
    texts = list(
        conversation.messages.filter(role=Message.Role.USER)
        .order_by("-created_at", "-pk")
        .values_list("content", flat=True)[:50]
    )
    kept: list[str] = []
    size = 0
    for text in texts:
        text = " ".join(text.split())
        if kept and size + len(text) + 1 > PROBLEM_MAX_CHARS:
            break
        kept.append(text[:PROBLEM_MAX_CHARS])
        size += len(text) + 1
    return "\n".join(reversed(kept))


# An action: does its write (raising ValidationError when the rule refuses it) and
# answers the anchor of the page to come back to, or None.
Action = Callable[[Conversation], str | None]


def action_url(conversation: Conversation, name: str) -> str:
    return reverse(f"admin:crm_conversation_{name}", args=[conversation.pk])


def _user(request: HttpRequest) -> AbstractBaseUser:
    """The member acting: the admin lets only a logged-in staff user reach these views."""
    if not isinstance(request.user, AbstractBaseUser):
        raise PermissionDenied
    return request.user


class ConversationViews:
    """The action views of one conversation admin (``ConversationAdmin``)."""

    def __init__(self, model_admin: CrmRecordAdmin) -> None:
        self.model_admin = model_admin

    def urls(self) -> list[URLPattern]:
        def route(suffix: str, view: Callable[..., HttpResponse], name: str) -> URLPattern:
            return path(
                f"<path:object_id>/{suffix}",
                self.model_admin.admin_site.admin_view(view),
                name=f"crm_conversation_{name}",
            )

        return [
            route("take-over/", self.take_over_view, "take_over"),
            route("reply/", self.reply_view, "reply"),
            route("hand-back/", self.hand_back_view, "hand_back"),
            route("close/", self.close_view, "close"),
            route("messages.json", self.messages_view, "messages"),
            route("create-opportunity/", self.create_opportunity_view, "create_opportunity"),
        ]

    def page_context(self, request: HttpRequest, obj: Conversation) -> dict[str, Any]:
        """The page's bar and reply box: the state, and the buttons the member may use."""
        may_change = self.model_admin.has_change_permission(request, obj)
        refusal = conversation_refusal(conversation=obj, user=request.user) if may_change else None
        may_act = may_change and refusal is None
        mine = obj.status == Status.HANDED_OFF and obj.assigned_rep_id == request.user.pk
        if obj.status == Status.HANDED_OFF:
            rep = obj.assigned_rep
            who = (
                gettext("you")
                if mine
                else (user_display_name(rep) if rep else gettext("no one yet"))
            )
            state = gettext("With a rep (%(who)s): the bot does not answer.") % {"who": who}
        elif obj.status == Status.CLOSED:
            state = gettext("Closed.")
        else:
            state = gettext("The bot is answering.")
        note = str(CHANNEL_NOTES.get(obj.channel, ""))
        if may_act and (obj.status != Status.HANDED_OFF or obj.assigned_rep_id is None):
            takes = gettext("Sending takes the conversation over from the bot.")
            note = f"{takes} {note}".strip()
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
            "urls": {name: action_url(obj, name) for name in ACTIONS},
            "may_create_opportunity": self._may_create_opportunity(request, obj),
            "create_opportunity_url": action_url(obj, "create_opportunity"),
        }

    # ---- the views --------------------------------------------------------------------

    def take_over_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        def take(obj: Conversation) -> None:
            conversation_take_over(conversation=obj, actor=Actor.rep(request.user))

        return self._act(request, object_id, take, _("You took the conversation over."))

    def reply_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        def reply(obj: Conversation) -> str:
            text = str(request.POST.get("text", ""))
            conversation_reply(conversation=obj, author=_user(request), text=text)
            return "#desk-reply"

        return self._act(request, object_id, reply, _("Reply stored; it is being sent."))

    def hand_back_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        def hand_back(obj: Conversation) -> None:
            conversation_hand_back(conversation=obj, actor=Actor.rep(request.user))

        return self._act(
            request, object_id, hand_back, _("Handed back: the bot answers the next message.")
        )

    def close_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        def close(obj: Conversation) -> None:
            conversation_close(conversation=obj, actor=Actor.rep(request.user))

        return self._act(request, object_id, close, _("Conversation closed."))

    def messages_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The transcript's rows as JSON: what the page's script refreshes itself from."""
        obj = self._conversation(request, object_id)
        if request.method != "GET":
            return HttpResponseNotAllowed(["GET"])
        return JsonResponse(
            {"status": obj.status, "messages": transcript_rows(obj)},
            headers={"Cache-Control": "no-store"},
        )

    def create_opportunity_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """GET: the form, prefilled; POST: the opportunity, then its page (400: the errors)."""
        obj = self._conversation(request, object_id)
        if request.method not in ("GET", "POST"):
            return HttpResponseNotAllowed(["GET", "POST"])
        if not request.user.has_perm(ADD_OPPORTUNITY):
            raise PermissionDenied
        if not self._has_contact(obj):
            return HttpResponse(
                gettext("This conversation has no contact to register an opportunity for."),
                status=400,
                content_type="text/plain; charset=utf-8",
            )
        if request.method == "GET":
            initial = {"problem_statement": customer_words(obj), "currency": DEFAULT_CURRENCY}
            return self._opportunity_form(
                request, obj, OpportunityFromConversationForm(initial=initial)
            )
        form = OpportunityFromConversationForm(request.POST)
        if not form.is_valid():
            return self._opportunity_form(request, obj, form, status=400)
        data = form.cleaned_data
        try:
            opportunity = opportunity_create(
                contact=obj.contact,
                conversation=obj,
                problem_statement=data["problem_statement"].strip(),
                value=data["value"],
                currency=data["currency"],
                expected_close_date=data["expected_close_date"],
                next_step=data["next_step"].strip(),
                actor=Actor.rep(request.user),
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
            return self._opportunity_form(request, obj, form, status=400)
        self.model_admin.message_user(
            request, gettext("Opportunity registered for this conversation."), messages.SUCCESS
        )
        return HttpResponseRedirect(
            reverse("admin:crm_leadopportunity_change", args=[opportunity.pk])
        )

    # ---- shared -----------------------------------------------------------------------

    @staticmethod
    def _has_contact(obj: Conversation) -> bool:
        return obj.contact_id is not None and not obj.contact.is_deleted

    def _may_create_opportunity(self, request: HttpRequest, obj: Conversation) -> bool:
        return bool(request.user.has_perm(ADD_OPPORTUNITY) and self._has_contact(obj))

    def _opportunity_form(
        self,
        request: HttpRequest,
        obj: Conversation,
        form: OpportunityFromConversationForm,
        status: int = 200,
    ) -> HttpResponse:
        admin_site = self.model_admin.admin_site
        context = {
            **admin_site.each_context(request),
            "title": gettext("Create an opportunity"),
            "subtitle": str(obj.contact),
            "opts": Conversation._meta,
            "opportunity_opts": LeadOpportunity._meta,
            "original": obj,
            "form": form,
            "conversation_url": action_url(obj, "change"),
        }
        return TemplateResponse(
            request, "admin/crm/conversation/create_opportunity.html", context, status=status
        )

    def _conversation(self, request: HttpRequest, object_id: str) -> Conversation:
        obj: Conversation = self.model_admin.get_object(request, unquote(object_id))  # else 404
        if not self.model_admin.has_view_permission(request, obj):
            raise PermissionDenied
        return obj

    def _act(self, request: HttpRequest, object_id: str, action: Action, done: Any) -> HttpResponse:
        obj = self._conversation(request, object_id)
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.model_admin.has_change_permission(request, obj):
            raise PermissionDenied
        anchor = ""
        try:
            anchor = action(obj) or ""
        except ValidationError as exc:
            self.model_admin.message_user(request, " ".join(exc.messages), messages.ERROR)
        else:
            self.model_admin.message_user(request, done, messages.SUCCESS)
        return HttpResponseRedirect(action_url(obj, "change") + anchor)
