"""Flask-WTF forms: they parse fields and carry the CSRF token; services hold the rules."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField

from semaphore.errors import ValidationError


class LoginForm(FlaskForm):
    auth = StringField("Username or e-mail")
    password = PasswordField("Password")


class UserForm(FlaskForm):
    name = StringField("Name")
    username = StringField("Username")
    email = EmailField("E-mail")
    password = PasswordField("Password")
    admin = BooleanField("Administrator")
    alert = BooleanField("Receives failure alerts")


def attach_error(form: FlaskForm, exc: ValidationError) -> None:
    """Show a service's ValidationError next to its field (or at the top of the form)."""
    field = getattr(form, exc.field, None) if exc.field else None
    if field is not None and hasattr(field, "errors"):
        field.errors = [*list(field.errors or []), exc.message]
    else:
        form.form_errors.append(exc.message)
