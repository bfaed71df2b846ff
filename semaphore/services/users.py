"""Users: who may see, create, change and remove them.

`actor` is the user making the change; None is the system (the CLI), which may do anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select, update

from semaphore.config import current_config
from semaphore.errors import NotFound, PermissionDenied, ValidationError
from semaphore.extensions import db
from semaphore.models import Session, User
from semaphore.schemas.base import parse
from semaphore.schemas.listing import Page
from semaphore.schemas.users import UserIn, UserPasswordIn, UserUpdateIn
from semaphore.security.passwords import hash_password
from semaphore.services import audit, listing, options


def _is_admin(actor: User | None) -> bool:
    return actor is None or actor.admin


def list_users(actor: User, *, page: Page | None = None) -> listing.Rows[User]:
    """Every user, by username (non-admins get the minimal view from the API layer)."""
    # The id breaks ties between usernames equal but for case, so pages never overlap.
    return listing.rows(select(User).order_by(func.lower(User.username), User.id), page)


def get_user(actor: User | None, user_id: int) -> User:
    """One user; self or admin.

    Raises:
        NotFound: no such user.
        PermissionDenied: a non-admin asks for someone else.
    """
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("User not found")
    if not _is_admin(actor) and actor.id != user.id:
        raise PermissionDenied("You may only see and change your own account")
    return user


def find_user(login_or_email: str) -> User | None:
    """The user whose username or e-mail matches, ignoring case."""
    lowered = login_or_email.strip().lower()
    if not lowered:
        return None
    return db.session.scalar(
        select(User).where(
            (func.lower(User.username) == lowered) | (func.lower(User.email) == lowered)
        )
    )


def check_password_length(password: str) -> None:
    """The one rule for a new password's length (create, update, password change; API, pages
    and CLI): at least `password_min_length` characters (8 unless configured).

    Raises:
        ValidationError: the password is shorter, on the field "password".
    """
    minimum = current_config().password_min_length
    if len(password) < minimum:
        message = f"The password must be at least {minimum} characters long"
        raise ValidationError(message, "password")


def _check_unique(username: str, email: str, exclude_id: int | None = None) -> None:
    for field, column, value in (
        ("username", User.username, username),
        ("email", User.email, email),
    ):
        query = select(User.id).where(func.lower(column) == value.lower())
        if exclude_id is not None:
            query = query.where(User.id != exclude_id)
        if db.session.scalar(query) is not None:
            raise ValidationError(f"A user with this {field} already exists", field)


def create_user(actor: User | None, data: Mapping[str, Any]) -> User:
    """Create a user (admins only).

    Raises:
        PermissionDenied: the actor is not an admin.
        ValidationError: a field is missing or invalid, or the username/e-mail is taken.
    """
    if not _is_admin(actor):
        raise PermissionDenied("Only administrators can create users")
    body = parse(UserIn, data)
    if body.password:
        check_password_length(body.password)
    _check_unique(body.username, body.email)
    user = User(
        username=body.username,
        name=body.name,
        email=body.email,
        admin=body.admin,
        alert=body.alert,
        external=body.external,
        password=hash_password(body.password, current_config().bcrypt_cost)
        if body.password
        else "",
    )
    db.session.add(user)
    if user.admin:
        db.session.flush()  # the event names the new user by id
        audit.record("admin_granted", actor, target=user)
    db.session.commit()
    return user


def update_user(
    actor: User | None,
    user_id: int,
    data: Mapping[str, Any],
    keep_session_id: int | None = None,
) -> User:
    """Change a user's details; self or admin. Omitted booleans keep their value.

    A new password signs the user out of every session but `keep_session_id`.

    Raises:
        PermissionDenied: not self or admin, or a user changing their own admin flag.
        ValidationError: bad fields; an external user's username or password changed.
    """
    user = get_user(actor, user_id)
    body = parse(UserUpdateIn, data)
    username, name, email, password = body.username, body.name, body.email, body.password
    admin = user.admin if body.admin is None else body.admin
    alert = user.alert if body.alert is None else body.alert
    if admin != user.admin and (actor is not None and (actor.id == user.id or not actor.admin)):
        raise PermissionDenied("You cannot change your own administrator flag")
    if user.external and (username != user.username or password):
        raise ValidationError("The username and password of an external user cannot be changed")
    if password:
        check_password_length(password)
    if user.admin and not admin:
        _keep_one_admin(user)
    _check_unique(username, email, exclude_id=user.id)
    admin_changed = admin != user.admin
    user.username, user.name, user.email, user.admin, user.alert = (
        username,
        name,
        email,
        admin,
        alert,
    )
    if password:
        user.password = hash_password(password, current_config().bcrypt_cost)
    _audit_changes(actor, user, admin_changed, bool(password))
    db.session.commit()
    if password:
        _sign_out_elsewhere(user, keep_session_id)
    return user


def set_password(
    actor: User | None,
    user_id: int,
    data: Mapping[str, Any],
    keep_session_id: int | None = None,
) -> None:
    """Set a user's password; self or admin. Signs them out of every session but the kept one.

    Raises:
        ValidationError: external user, or an empty password.
    """
    user = get_user(actor, user_id)
    if user.external:
        raise ValidationError("The password of an external user cannot be changed")
    body = parse(UserPasswordIn, data)
    check_password_length(body.password)
    user.password = hash_password(body.password, current_config().bcrypt_cost)
    audit.record("password_changed", actor, target=user)
    db.session.commit()
    _sign_out_elsewhere(user, keep_session_id)


def _audit_changes(actor: User | None, user: User, admin_changed: bool, password: bool) -> None:
    if admin_changed:
        audit.record("admin_granted" if user.admin else "admin_revoked", actor, target=user)
    if password:
        audit.record("password_changed", actor, target=user)


def _sign_out_elsewhere(user: User, keep_session_id: int | None) -> None:
    # Whoever knew the old password is signed out with it.
    end_sessions(user.id, keep_session_id)


def _keep_one_admin(user: User) -> None:
    others = db.session.scalar(
        select(func.count()).select_from(User).where(User.admin.is_(True), User.id != user.id)
    )
    if not others:
        raise ValidationError("The last administrator cannot be removed or demoted")


def delete_user(actor: User | None, user_id: int) -> None:
    """Remove a user; self or admin, but never the last administrator."""
    user = get_user(actor, user_id)
    if user.admin:
        _keep_one_admin(user)
    options.delete_user_options(user.id)
    db.session.delete(user)
    db.session.commit()


def count_admins() -> int:
    """How many administrators exist."""
    return db.session.scalar(select(func.count()).select_from(User).where(User.admin.is_(True)))


def can_create_project(user: User) -> bool:
    """Admins, and everyone when non_admin_can_create_project is set."""
    return user.admin or current_config().non_admin_can_create_project


def require_admin(actor: User) -> None:
    """Raises PermissionDenied unless the actor is an administrator."""
    if not _is_admin(actor):
        raise PermissionDenied("Only administrators can manage users")


def end_sessions(user_id: int, keep_session_id: int | None = None) -> int:
    """Sign a user out everywhere (but the session kept); returns how many were ended."""
    query = update(Session).where(Session.user_id == user_id, Session.expired.is_(False))
    if keep_session_id is not None:
        query = query.where(Session.id != keep_session_id)
    ended = db.session.execute(query.values(expired=True)).rowcount
    db.session.commit()
    return ended
