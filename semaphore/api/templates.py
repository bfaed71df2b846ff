"""templates (being written)."""
