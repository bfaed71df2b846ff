"""schedules (being written)."""
