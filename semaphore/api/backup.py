"""backup (being written)."""
