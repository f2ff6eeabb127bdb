"""What the agent records about its own work: one row per LLM call."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from tenants.i18n import label_model
from tenants.models import TenantOwnedModel


class LLMCall(TenantOwnedModel):
    class Outcome(models.TextChoices):
        OK = "ok", _("Answered")
        ERROR = "error", _("Failed")

    conversation = models.ForeignKey(
        "crm.Conversation", on_delete=models.CASCADE, related_name="llm_calls"
    )
    message = models.ForeignKey(
        "crm.Message",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="llm_calls",
        help_text=_("The reply this call contributed to."),
    )
    model = models.CharField(max_length=100)
    streamed = models.BooleanField(default=False)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    duration_ms = models.PositiveIntegerField(default=0)
    outcome = models.CharField(max_length=8, choices=Outcome.choices, default=Outcome.OK)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        verbose_name = _("LLM call")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.model} {self.outcome} ({self.prompt_tokens}+{self.completion_tokens} tokens)"


# The names the desk shows, translated (tenants.i18n: no migration changes).
label_model(
    LLMCall,
    {
        "conversation": _("conversation"),
        "message": _("message"),
        "model": _("model"),
        "streamed": _("streamed"),
        "prompt_tokens": _("prompt tokens"),
        "completion_tokens": _("completion tokens"),
        "duration_ms": _("duration ms"),
        "outcome": _("outcome"),
        "error": _("error"),
    },
    plural=_("LLM calls"),
)
