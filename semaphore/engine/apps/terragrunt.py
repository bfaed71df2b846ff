"""Terragrunt: the Terraform sequence through the `terragrunt` binary.

Not in the 2.10 original. `init`, `plan` and `apply` are terragrunt shortcuts that pass their
flags on to terraform/tofu; `workspace` is not a shortcut in current terragrunt, so it goes
through `terragrunt run -- workspace …` (as the newer original does). Which of terraform or
tofu terragrunt drives is terragrunt's own choice (TG_TF_PATH in the environment sets it).
"""

from __future__ import annotations

from semaphore.engine.apps.terraform import TerraformApp


class TerragruntApp(TerraformApp):
    def __init__(self) -> None:
        super().__init__("terragrunt", "terragrunt")

    def workspace_args(self, workspace: str) -> list[str]:
        return ["run", "--", *super().workspace_args(workspace)]
