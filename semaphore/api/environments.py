"""environments (being written)."""
