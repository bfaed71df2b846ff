"""views (being written)."""
