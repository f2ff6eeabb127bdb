"""What the sales desk keeps of its own: where each member stopped reading each conversation.

The inbox counts a conversation's unread messages for a member as the customer messages
stored after their read mark (all of them when they never opened it). Only
``desk.services.conversation_mark_read`` writes the marks.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from tenants.models import TenantOwnedModel


class ConversationReadMark(TenantOwnedModel):
    conversation = models.ForeignKey(
        "crm.Conversation", on_delete=models.CASCADE, related_name="read_marks"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    last_read_at = models.DateTimeField(
        help_text=_("Customer messages stored after this are unread for the member.")
    )

    class Meta:
        verbose_name = _("conversation read mark")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "conversation", "user"], name="readmark_unique_per_member"
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "user", "conversation"], name="readmark_member"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} read conversation {self.conversation_id} at {self.last_read_at}"
