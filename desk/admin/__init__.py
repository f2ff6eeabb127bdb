"""The sales desk's admin pages; each module registers its own."""

from desk.admin import conversations, opportunities  # noqa: F401
