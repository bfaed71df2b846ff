"""API tokens: created, listed and expired by their owner, and who a bearer token signs in."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, select

from semaphore.errors import NotFound, ValidationError
from semaphore.extensions import db
from semaphore.models import APIToken, User, utcnow
from semaphore.models.user import past_expiry
from semaphore.schemas.base import parse
from semaphore.schemas.users import TokenIn
from semaphore.security.tokens import digest, new_api_token
from semaphore.services import audit
from semaphore.services.auth import prefetch, token_cache

# The public handle of a token (its list id) is this many of its first characters.
TOKEN_HANDLE_LENGTH = 16


def create_token(actor: User, data: object = None) -> tuple[APIToken, str]:
    """A new API token for the actor; returns the row and the token, which is shown once.

    `expires` (RFC 3339, in the future) or `expires_in_days` (1 to 3650) limits its life;
    without either it lasts until expired by hand, as in the original.
    """
    # A body that is not an object is read as an empty one, as it always was.
    body = parse(TokenIn, data if isinstance(data, Mapping) else {})
    expires = _token_expiry(body)
    raw = new_api_token()
    token = APIToken(
        id=raw[:TOKEN_HANDLE_LENGTH],
        token_hash=digest(raw),
        user_id=actor.id,
        name=body.name,
        expires=expires,
    )
    db.session.add(token)
    audit.record("token_created", actor, details=_token_details(token))
    db.session.commit()
    return token, raw


def _token_details(token: APIToken) -> dict:
    # The token's name and expiry only: its handle is the start of the secret itself.
    return {"name": token.name, "expires": token.expires.isoformat() if token.expires else None}


def _token_expiry(body: TokenIn) -> datetime | None:
    if body.expires_in_days is not None:
        return utcnow() + timedelta(days=body.expires_in_days)
    moment = body.expires_at
    if moment is None:
        return None
    if moment <= utcnow():
        raise ValidationError("expires must be in the future", "expires")
    return moment.astimezone(UTC)


def token_expired(token: APIToken) -> bool:
    """Expired by hand, or past its expiry time."""
    return token.expired or past_expiry(token.expires)


def list_tokens(actor: User) -> list[APIToken]:
    """The actor's tokens, expired ones included, oldest first."""
    query = select(APIToken).where(APIToken.user_id == actor.id).order_by(APIToken.created)
    return list(db.session.scalars(query))


def expire_token(actor: User, token_id: str) -> None:
    """Expire one of the actor's tokens, named by its handle or by the whole token.

    Raises:
        NotFound: the actor has no such token.
    """
    column, value = (
        (APIToken.id, token_id)
        if len(token_id) <= TOKEN_HANDLE_LENGTH
        else (APIToken.token_hash, digest(token_id.lower()))
    )
    token = db.session.scalar(select(APIToken).where(column == value, APIToken.user_id == actor.id))
    if token is None:
        raise NotFound("API token not found")
    if not token.expired:
        token.expired = True
        audit.record("token_revoked", actor, details=_token_details(token))
    db.session.commit()


# The token and its owner in one round trip, built once: this runs on every API request. On
# project routes, the project and the owner's role in it come in the same one (prefetch.py).
_TOKEN_AND_OWNER = prefetch.SignInStatement(
    select(User, APIToken)
    .join(APIToken, APIToken.user_id == User.id)
    .where(APIToken.token_hash == bindparam("hash"))
)


def user_for_token(raw: str, project_id: int | None = None) -> User | None:
    """The owner of a valid (unexpired) bearer token (with a project id, as user_for_session).

    Kept in this process until a change could alter the answer (token_cache.py)."""
    token_hash = digest(raw.strip().lower())
    kept = token_cache.signed_in(token_hash, project_id)
    if kept is not None:
        user, project, role = kept
        prefetch.remember(user, project_id, (project, role))
        return user
    taken = token_cache.stamp(project_id)
    found = _TOKEN_AND_OWNER.first({"hash": token_hash}, project_id)
    if found is None or token_expired(found[1]):
        return None
    prefetch.remember(found[0], project_id, found)
    project, role = (found[2], found[3]) if project_id is not None else (None, None)
    token_cache.keep(token_hash, project_id, taken, found[1], found[0], project, role)
    return found[0]
