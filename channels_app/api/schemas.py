"""The CRM inbound API's request body, validated with pydantic (422 with field details)."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
METADATA_MAX_BYTES = 8 * 1024
METADATA_MAX_DEPTH = 8
# Where the customer is: new contacts get this platform, and ``platform_user_id``
# is looked up on it. The conversation itself runs on the API (the reply comes back
# in the response), never on the platform's conversation with its bot.
Channel = Literal["api", "telegram", "whatsapp", "widget"]


def _depth(value: Any) -> int:
    """How deeply ``value`` nests lists and objects (without recursion)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)
    return deepest


class ContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    crm_contact_id: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=128)] | None
    ) = None
    platform_user_id: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=128)] | None
    ) = None
    full_name: Short | None = None
    email: Annotated[str, StringConstraints(strip_whitespace=True, max_length=254)] | None = None
    phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)] | None = None
    company: Short | None = None
    crm_company_id: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=128)] | None
    ) = None
    division: Short | None = None
    crm_division_id: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=128)] | None
    ) = None

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        from django.core.exceptions import ValidationError
        from django.core.validators import validate_email

        if value:
            try:
                validate_email(value)
            except ValidationError as exc:
                raise ValueError("not a valid e-mail address") from exc
        return value or None

    @model_validator(mode="after")
    def _identified(self) -> ContactIn:
        if not (self.crm_contact_id or self.platform_user_id or self.email):
            raise ValueError("give crm_contact_id, platform_user_id or email")
        if self.division and not self.company:
            raise ValueError("division needs its company")
        return self


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: Channel = "api"
    contact: ContactIn
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
    metadata: dict[str, Any] = Field(default_factory=dict)
    external_id: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)
    ]

    @field_validator("metadata")
    @classmethod
    def _bounded(cls, value: dict[str, Any]) -> dict[str, Any]:
        if _depth(value) > METADATA_MAX_DEPTH:
            raise ValueError(f"metadata nests deeper than {METADATA_MAX_DEPTH} levels")
        if len(json.dumps(value, ensure_ascii=False).encode()) > METADATA_MAX_BYTES:
            raise ValueError(f"metadata is larger than {METADATA_MAX_BYTES} bytes")
        return value
