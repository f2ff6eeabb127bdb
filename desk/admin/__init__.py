"""The sales desk's admin pages; each module registers its own."""
