"""WSGI entry point: `gunicorn app:app` (the `semaphore server` command does this for you)."""

from semaphore import create_app

app = create_app()
