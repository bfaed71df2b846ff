"""Below the services: handing tasks to workers (claims, limits, liveness) and announcing
changes after commit."""
