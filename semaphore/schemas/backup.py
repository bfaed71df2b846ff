"""The parts of a backup document that go through the API's own input models.

A backup names what an object refers to by name, where a request gives ids: a template's vault
names its key by `vault_key` (VaultBackup, with VaultIn's rules), a repository its key by
`ssh_key` (restore reads the other fields through RepositoryIn itself).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator, model_validator

from semaphore.schemas.base import MAX_NAME, InputModel, Text
from semaphore.schemas.survey import SurveyVar, check_survey_names
from semaphore.schemas.templates import VaultFields, check_vault_names, key_of_password_vault

# The order a survey variable's fields are stored in (SurveyVar.stored's).
SURVEY_VAR_ORDER = ("name", "title", "description", "type", "required", "values", "default_value")


class VaultBackup(VaultFields):
    """A template's vault in a backup: its key by name, as in the backup's keys[]."""

    # Kept as written: it must match a key's name exactly.
    vault_key: Text(MAX_NAME, strip=False) | None = Field(None, validate_default=True)

    _key = field_validator("vault_key", mode="wrap")(key_of_password_vault)


class TemplateBackupParts(InputModel):
    """A backup template's survey variables and vaults, by the API's rules (TemplateIn's)."""

    survey_vars: list[SurveyVar] | None = None
    vaults: list[VaultBackup] = []

    @model_validator(mode="after")
    def _lists(self) -> TemplateBackupParts:
        check_survey_names(self.survey_vars or [])
        check_vault_names(self.vaults)
        return self

    def stored_survey_vars(self) -> list[dict[str, Any]] | None:
        """The variables as stored: with the fields the backup gives (so a backup restores to
        the same backup), each checked and trimmed by SurveyVar."""
        if self.survey_vars is None:
            return None
        return [_as_given(var) for var in self.survey_vars]


def _as_given(var: SurveyVar) -> dict[str, Any]:
    given = var.model_dump(exclude_unset=True)
    return {name: given[name] for name in SURVEY_VAR_ORDER if name in given}
