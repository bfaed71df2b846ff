"""The Flask extension every process uses, the database, created unbound; create_app() binds
it with init_app(). The HTTP side's extensions are in web_extensions."""

from __future__ import annotations

from flask_sqlalchemy import SQLAlchemy

from semaphore.models.base import Base

db = SQLAlchemy(model_class=Base)
