from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from agent.models import LLMCall
from tenants.admin_base import TenantOwnedAdmin


@admin.register(LLMCall)
class LLMCallAdmin(TenantOwnedAdmin):
    """Read-only: what every LLM call of the agent cost and how it ended."""

    list_display = [
        "created_at",
        "conversation",
        "model",
        "outcome",
        "prompt_tokens",
        "completion_tokens",
        "duration_ms",
        "streamed",
    ]
    list_filter = ["outcome", "model", "streamed"]
    list_select_related = ["conversation__contact"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "conversation",
        "message",
        "model",
        "streamed",
        "prompt_tokens",
        "completion_tokens",
        "duration_ms",
        "outcome",
        "error",
        "created_at",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
