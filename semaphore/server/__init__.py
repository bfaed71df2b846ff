"""Serving the app: gunicorn with a worker that reads each request before a thread runs it."""
