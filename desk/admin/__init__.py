"""The sales desk's admin pages; each module registers its own.

``conversations`` and ``opportunities`` set the admins up, ``conversation_views`` holds the
conversation page's actions, ``fragments`` renders the pages' HTML from
``templates/admin/desk/``."""

from desk.admin import conversations, opportunities  # noqa: F401
