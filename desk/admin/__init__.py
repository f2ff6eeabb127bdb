"""The sales desk's admin pages; each module registers its own.

``conversations``, ``opportunities`` and ``quotes`` set the admins up; ``conversation_views``
and ``quote_views`` hold the pages' actions; ``fragments`` renders the pages' HTML from
``templates/admin/desk/``."""

from desk.admin import conversations, opportunities, quotes  # noqa: F401
