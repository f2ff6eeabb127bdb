"""The REST API v1's resources, as pydantic (django-ninja) schemas.

The output schemas are the contract of the API and of the outbound webhooks (their
payloads carry the same JSON: ``integrations.representations``). Ids are the rows' ids
in this service, stable for a row's life; the CRM's own ids travel in the ``crm_*`` fields.
Money is a decimal string (``"1250.00"``), times are ISO 8601 with their offset (UTC).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, Literal, TypeVar

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from ninja import Schema
from pydantic import ConfigDict, Field, StringConstraints, field_validator, model_validator

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
RowId = Annotated[int, Field(ge=1, le=2**63 - 1, description="The row's id in this service.")]
CrmId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]


def _money(value: Any) -> Any:
    return None if value is None else str(value)


def _email(user: Any) -> str | None:
    return (user.email or None) if user is not None else None


class CompanyRef(Schema):
    id: int
    name: str
    crm_company_id: str | None


class DivisionRef(Schema):
    id: int
    name: str
    crm_division_id: str | None


class DivisionOut(Schema):
    """A company's division (a lab, a purchasing team): where its contacts work."""

    id: int
    company_id: int
    name: str
    crm_division_id: str | None
    created_at: datetime
    updated_at: datetime


class CompanyOut(Schema):
    """A customer company, with its divisions."""

    id: int
    name: str
    fiscal_id: str | None
    crm_company_id: str | None
    divisions: list[DivisionRef]
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_divisions(obj: Any) -> list[Any]:
        return list(obj.divisions.all())


class ContactOut(Schema):
    """A person the agent talks to, with their company and division when known."""

    id: int
    crm_contact_id: str | None
    full_name: str
    email: str
    phone_number: str
    platform: str = Field(description="Where the contact first reached the agent.")
    platform_user_id: str | None
    problem_statement: str
    company: CompanyRef | None
    division: DivisionRef | None
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_company(obj: Any) -> Any:
        return obj.division.company if obj.division_id else None

    @staticmethod
    def resolve_division(obj: Any) -> Any:
        return obj.division if obj.division_id else None


class MessageOut(Schema):
    id: int
    role: Literal["user", "assistant", "system", "agent"] = Field(
        description="user: the customer; assistant: the AI agent; agent: a sales rep."
    )
    content: str
    author_name: str
    delivery_status: str
    created_at: datetime


class ConversationOut(Schema):
    """A conversation, without its messages (``GET /conversations/{id}`` has them)."""

    id: int
    contact_id: int
    channel: str
    status: Literal["active", "handed_off", "closed"]
    intent: str
    assigned_rep_email: str | None
    needs_attention: bool
    attention_reason: str
    summary: str
    last_activity_at: datetime | None
    closed_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_intent(obj: Any) -> str:
        return str(obj.intent_category)

    @staticmethod
    def resolve_assigned_rep_email(obj: Any) -> str | None:
        return _email(obj.assigned_rep)


class ConversationDetailOut(ConversationOut):
    messages: list[MessageOut]

    @staticmethod
    def resolve_messages(obj: Any) -> list[Any]:
        return list(obj.messages.all())


class RecommendationOut(Schema):
    """A product the agent recommends for an opportunity, and why."""

    id: int
    opportunity_id: int
    product_id: int | None
    product_sku: str
    product_name: str
    justification: str
    created_at: datetime
    updated_at: datetime


class OpportunityOut(Schema):
    """A qualified need of a contact, with the products recommended for it."""

    id: int
    contact_id: int
    conversation_id: int | None
    status: Literal["qualified", "needs_expert", "closed"]
    problem_statement: str
    assigned_rep_email: str | None
    value: str | None = Field(description="Expected deal value, a decimal string.")
    currency: str
    expected_close_date: date | None
    next_step: str
    crm_opportunity_id: str
    recommendations: list[RecommendationOut]
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_assigned_rep_email(obj: Any) -> str | None:
        return _email(obj.assigned_rep)

    @staticmethod
    def resolve_value(obj: Any) -> str | None:
        return _money(obj.value)

    @staticmethod
    def resolve_recommendations(obj: Any) -> list[Any]:
        return list(obj.recommendations.all())


class ProductOut(Schema):
    """A catalog product (active ones only are searched)."""

    id: int
    sku: str
    name: str
    category: str
    brand: str
    price: str | None = Field(description="A decimal string, in ``currency``.")
    currency: str
    url: str
    description: str = Field(description="Readable text of the description and specs.")
    is_active: bool
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_price(obj: Any) -> str | None:
        return _money(obj.price)

    @staticmethod
    def resolve_description(obj: Any) -> str:
        return str(obj.clean_text)


class ProductHit(Schema):
    score: float
    product: ProductOut


T = TypeVar("T")


class Page(Schema, Generic[T]):
    """One page of a list. Pass ``next_cursor`` as ``cursor`` for the next page while
    ``has_more``; the last page's ``next_cursor`` also fetches what changes later."""

    items: list[T]
    next_cursor: str | None = Field(
        description="The position after this page's last item (null when the page is empty "
        "and no cursor was given)."
    )
    has_more: bool


class ContactPage(Page[ContactOut]):
    pass


class CompanyPage(Page[CompanyOut]):
    pass


class DivisionPage(Page[DivisionOut]):
    pass


class ConversationPage(Page[ConversationOut]):
    pass


class OpportunityPage(Page[OpportunityOut]):
    pass


class ProductPage(Page[ProductOut]):
    pass


class SearchResults(Schema):
    items: list[ProductHit]


# Inputs ---------------------------------------------------------------------------------


class ContactUpsertIn(Schema):
    """The CRM's contact, created or updated by its ``crm_contact_id`` (in the path).

    Non-empty values overwrite ours; the company and division are found by their CRM ids,
    else by name, and created (or renamed) to match. A company without a division puts
    the contact in its "General" division.
    """

    model_config = ConfigDict(extra="forbid")

    full_name: Name | None = None
    email: Annotated[str, StringConstraints(strip_whitespace=True, max_length=254)] | None = None
    phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)] | None = None
    company: Name | None = None
    crm_company_id: CrmId | None = None
    division: Name | None = None
    crm_division_id: CrmId | None = None

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value:
            try:
                validate_email(value)
            except ValidationError as exc:
                raise ValueError("not a valid e-mail address") from exc
        return value or None

    @model_validator(mode="after")
    def _division_needs_company(self) -> ContactUpsertIn:
        if self.division and not self.company:
            raise ValueError("division needs its company")
        return self


class OpportunityPatchIn(Schema):
    """The fields a CRM may change on an opportunity; absent fields stay as they are,
    ``null`` clears the nullable ones."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["qualified", "needs_expert", "closed"] | None = None
    assigned_rep_email: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=254)] | None
    ) = Field(default=None, description="A member of this tenant; null unassigns.")
    crm_opportunity_id: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=128)] | None
    ) = None
    value: Annotated[Decimal, Field(max_digits=14, decimal_places=2, ge=0)] | None = None
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] | None = Field(
        default=None, description="ISO 4217 code, e.g. EUR."
    )
    expected_close_date: date | None = None
    next_step: Annotated[str, StringConstraints(strip_whitespace=True, max_length=255)] | None = (
        None
    )
