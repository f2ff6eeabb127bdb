"""The WhatsApp Cloud API webhook payload, as typed pydantic models.

Only what the channel reads is declared; every other field is ignored (Meta adds
fields without notice). The envelope is::

    {"object": "whatsapp_business_account",
     "entry": [{"id": "<WABA id>", "changes": [{"field": "messages", "value": {
         "messaging_product": "whatsapp",
         "metadata": {"display_phone_number": "…", "phone_number_id": "…"},
         "contacts": [{"profile": {"name": "…", "username": "…"}, "wa_id": "…",
                       "user_id": "US.134…"}],
         "messages": [{"from": "…", "from_user_id": "US.134…", "id": "wamid.…",
                       "timestamp": "…", "type": "text", "text": {"body": "…"}}],
         "statuses": [{"id": "wamid.…", "status": "delivered", "recipient_id": "…",
                       "errors": [{"code": 131047, "title": "…", "message": "…",
                                   "error_data": {"details": "…"}}]}]}}]}]}

``wa_id``/``from`` (the phone-number id) may be missing for a user who adopted a
username; the business-scoped user id (BSUID: ``contacts[].user_id``,
``messages[].from_user_id``, ``statuses[].recipient_user_id``) is there instead.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

# Ids end up in indexed columns (external_id 255, route address 128): bound them here.
Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Address = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class Profile(_Model):
    name: str = ""
    username: str = ""


class Contact(_Model):
    wa_id: Address | None = None
    user_id: Address | None = None  # BSUID
    profile: Profile = Field(default_factory=Profile)


class Text(_Model):
    body: str = ""


class Media(_Model):
    """image, video, document, audio, sticker: only the caption is readable."""

    caption: str = ""


class Reply(_Model):
    id: str = ""
    title: str = ""
    description: str = ""


class Interactive(_Model):
    type: str = ""
    button_reply: Reply | None = None
    list_reply: Reply | None = None


class Button(_Model):
    """The legacy quick-reply button of a template message."""

    text: str = ""
    payload: str = ""


class Message(_Model):
    id: Id
    from_: Address | None = Field(default=None, alias="from")
    from_user_id: Address | None = None  # BSUID
    timestamp: str = ""
    type: str = "unknown"
    text: Text | None = None
    interactive: Interactive | None = None
    button: Button | None = None
    image: Media | None = None
    video: Media | None = None
    document: Media | None = None
    audio: Media | None = None
    sticker: Media | None = None

    def media(self) -> Media | None:
        value = getattr(self, self.type, None) if self.type in MEDIA_TYPES else None
        return value if isinstance(value, Media) else None


MEDIA_TYPES = frozenset({"image", "video", "document", "audio", "sticker"})


class StatusError(_Model):
    code: int | None = None
    title: str = ""
    message: str = ""
    error_data: dict[str, object] = Field(default_factory=dict)

    def describe(self) -> str:
        """``"<code>: <message>"`` with the details when Meta gives them."""
        text = self.message or self.title or "error"
        details = self.error_data.get("details")
        if isinstance(details, str) and details and details not in text:
            text = f"{text} ({details})"
        return f"{self.code}: {text}" if self.code is not None else text


class Status(_Model):
    id: Id
    status: str
    timestamp: str = ""
    recipient_id: str | None = None
    recipient_user_id: str | None = None
    errors: list[StatusError] = Field(default_factory=list)


class Metadata(_Model):
    display_phone_number: str = ""
    phone_number_id: str = ""


class Value(_Model):
    messaging_product: str = ""
    metadata: Metadata = Field(default_factory=Metadata)
    contacts: list[Contact] = Field(default_factory=list)
    messages: list[Message] = Field(default_factory=list)
    statuses: list[Status] = Field(default_factory=list)


class Change(_Model):
    field: str = ""
    value: Value


class Entry(_Model):
    id: str = ""
    changes: list[Change]


class Notification(_Model):
    object: Literal["whatsapp_business_account"]
    entry: list[Entry]
