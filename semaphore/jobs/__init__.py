"""RQ entry points. Jobs take ids, never ORM objects; the database holds the state."""
