"""A repository: what a request gives and what the API shows.

URLs and branches reach `git` on a command line, so anything that could read as an option is
refused. A URL starting with '/' is a local directory used in place, so it needs no branch
(whether that directory is allowed is the server's setting, checked by the service).
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BeforeValidator, StringConstraints, field_validator, model_validator

from semaphore.schemas.base import (
    InputModel,
    JsonInt,
    Name,
    OutputModel,
    ShortText,
    invalid,
    json_string,
    list_of,
)

MAX_URL = 2048
# What `git check-ref-format` refuses, besides a leading '-' that git would take as an option.
_BAD_BRANCH = re.compile(r"[\s~^:?*\[\\\x00-\x1f\x7f]|\.\.|@\{|/$|\.$|\.lock$|^/|//")


GitUrl = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_URL),
    BeforeValidator(json_string),
]


def is_local(git_url: str) -> bool:
    """True for a directory on the server, used in place and never cloned."""
    return git_url.startswith("/")


class RepositoryIn(InputModel):
    """POST and PUT …/repositories."""

    # The original's body carries the ids too; the service checks they match the URL's.
    id: JsonInt | None = None
    project_id: JsonInt | None = None
    name: Name
    git_url: GitUrl
    git_branch: ShortText = ""
    ssh_key_id: JsonInt | None = None

    @field_validator("git_url")
    @classmethod
    def _git_url(cls, git_url: str) -> str:
        if git_url.startswith("-") or any(ch.isspace() or ord(ch) < 32 for ch in git_url):
            raise invalid("git_url is not a valid repository URL")
        return git_url

    @model_validator(mode="after")
    def _git_branch(self) -> RepositoryIn:
        branch = self.git_branch
        if not branch and not is_local(self.git_url):
            raise invalid("git_branch is required", "git_branch")
        if branch and (branch.startswith("-") or _BAD_BRANCH.search(branch)):
            raise invalid("git_branch is not a valid branch name", "git_branch")
        return self


class RepositoryOut(OutputModel):
    """A repository as the contract shows it."""

    id: int
    name: str
    project_id: int
    git_url: str
    git_branch: str
    ssh_key_id: int | None


RepositoryList = list_of(RepositoryOut)
