"""The parts of a Telegram Bot API ``Update`` the webhook reads, validated with pydantic.

Only what the bot uses is modelled; every other field Telegram sends (now or in
a later Bot API version) is ignored. Types are strict, as Telegram's JSON is: an
``update_id`` given as a string is not an Update.
See https://core.telegram.org/bots/api#update and #message.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

# Telegram's ids fit in 64 bits (chat ids in 52): a larger number is not Telegram's, and
# would not fit the columns the ids end up in (addresses, external ids).
Id = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]

# Message contents without text, in the order they are looked for: an animation
# also carries a ``document`` and a venue a ``location``, so those come first.
MEDIA_KINDS = (
    "animation",
    "photo",
    "sticker",
    "voice",
    "audio",
    "video",
    "video_note",
    "document",
    "paid_media",
    "story",
    "venue",
    "location",
    "contact",
    "poll",
    "dice",
    "game",
    "invoice",
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True, populate_by_name=True)


class User(_Model):
    id: Id
    is_bot: bool = False
    first_name: str = ""
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part).strip()


class Chat(_Model):
    id: Id
    type: str  # "private", "group", "supergroup" or "channel"
    title: str | None = None
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part).strip()


class Message(_Model):
    message_id: Id
    date: Id
    chat: Chat
    from_user: User | None = Field(default=None, alias="from")
    text: str | None = None
    caption: str | None = None
    # What a message without text may carry instead (contents are not read).
    animation: Any = None
    photo: Any = None
    sticker: Any = None
    voice: Any = None
    audio: Any = None
    video: Any = None
    video_note: Any = None
    document: Any = None
    paid_media: Any = None
    story: Any = None
    venue: Any = None
    location: Any = None
    contact: Any = None
    poll: Any = None
    dice: Any = None
    game: Any = None
    invoice: Any = None

    @property
    def media_kind(self) -> str | None:
        """``"photo"``, ``"voice"``…: what arrived instead of text, or None."""
        return next((kind for kind in MEDIA_KINDS if getattr(self, kind) is not None), None)

    @property
    def readable_text(self) -> str | None:
        """The text, or a media caption, or None when there is nothing to read."""
        if self.text is not None:
            return self.text
        return self.caption

    @property
    def sender_name(self) -> str:
        if self.from_user is not None and self.from_user.full_name:
            return self.from_user.full_name
        return self.chat.full_name

    @property
    def language_code(self) -> str:
        return (self.from_user.language_code or "") if self.from_user else ""


class ButtonMessage(_Model):
    """The message a pressed inline button belongs to (``MaybeInaccessibleMessage``: an old
    one has only its chat and id, ``date`` 0)."""

    message_id: Id
    chat: Chat
    reply_markup: Any = None  # the inline keyboard, as sent

    def button_text(self, data: str) -> str | None:
        """The label of this message's inline button carrying ``data``, if Telegram sent it."""
        markup = self.reply_markup if isinstance(self.reply_markup, dict) else {}
        rows = markup.get("inline_keyboard")
        for row in rows if isinstance(rows, list) else []:
            for button in row if isinstance(row, list) else []:
                if isinstance(button, dict) and button.get("callback_data") == data:
                    text = button.get("text")
                    return text if isinstance(text, str) and text.strip() else None
        return None


class CallbackQuery(_Model):
    """A press of an inline keyboard button (https://core.telegram.org/bots/api#callbackquery)."""

    id: Annotated[str, Field(min_length=1, max_length=200)]
    from_user: User = Field(alias="from")
    message: ButtonMessage | None = None  # absent for a button of an inline-mode message
    chat_instance: str = ""
    data: str | None = None


class Update(_Model):
    # Other update kinds (edited_message, my_chat_member…) are kept unparsed, only to be named.
    model_config = ConfigDict(extra="allow", strict=True)

    update_id: Id
    message: Message | None = None
    callback_query: CallbackQuery | None = None

    @property
    def kind(self) -> str:
        """``"message"``, ``"callback_query"``, or the other kind this update is (for logs
        and answers)."""
        if self.message is not None:
            return "message"
        if self.callback_query is not None:
            return "callback_query"
        return next(iter(self.model_extra or {}), "unknown")
