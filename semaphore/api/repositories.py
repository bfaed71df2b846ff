"""repositories (being written)."""
