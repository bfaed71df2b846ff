"""Running one task: prepare its files, run its app's commands, clean up in every outcome.

    runner = TaskRunner(spec, settings, on_line=writer.write, on_status=..., on_commit=...,
                        confirm=...)
    result = runner.run()        # blocks; RunResult(status="success" | "error" | "stopped")
    runner.stop()                # from any thread: SIGTERM to the group, SIGKILL after grace

Preparation follows the original (REFERENCE.md §3): "Preparing: N", the branch (task >
template > repository), the checkout, the inventory's keys and file, the app's requirements,
then the app. Every output line, Semaphore's own included, is masked before `on_line` sees it
(the lines of one read at once, joined by "\n").

A run longer than `spec.max_duration_sec` is stopped as `stop()` stops it, and ends `error`
with a last line naming the limit (timeout_message). The clock starts with the run (its
"Preparing" line): the checkout, the requirements and a wait for confirmation count, as AWX
counts a whole job, since a run holds its worker the whole time. So that a wait for
confirmation ends too, `confirm` must return once `runner.stopped`, whoever stopped the run.

The ssh-agents, the inventory file and the task's private directory (secret files) are removed
in a `finally`, whatever happens, and by the workspace's janitor if the process running this
dies first (engine.workspace).

Git runs outside the sandbox, under the supervisor (engine.process): it needs the keys' agents
and the server's ssh and git configuration, and runs only git's own programs on URLs the
project stored. The app's commands (galaxy included) run in the sandbox (engine.sandbox)
unless `settings.sandbox` is off; with it on and bubblewrap missing, the task fails at once.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from semaphore.engine import sandbox
from semaphore.engine.apps import get_app
from semaphore.engine.apps.base import Command, RunContext
from semaphore.engine.errors import CommandFailed, EngineError
from semaphore.engine.git import (
    ASKPASS_SCRIPT,
    HTTPS,
    LOCAL,
    MAINTENANCE_EVERY,
    Git,
    Head,
    git_env,
    https_credentials,
    repository_kind,
)
from semaphore.engine.inventory import install_inventory
from semaphore.engine.process import (
    SUPERVISED,
    Confinement,
    LineCallback,
    ProcessRunner,
    TaskStopped,
)
from semaphore.engine.sandbox import Contained, RunPaths, Sandbox, find_bwrap
from semaphore.engine.secrets import Masker
from semaphore.engine.spec import (
    TEMPLATE_LIMIT,
    Credential,
    EngineSettings,
    RepositorySpec,
    RunResult,
    TaskSpec,
)
from semaphore.engine.sshagent import SshAgent
from semaphore.engine.workspace import Workspace, sweep_due
from semaphore.executables import find_executable

T = TypeVar("T")

SUCCESS = "success"
ERROR = "error"
STOPPED = "stopped"


def check_local_repository(path: Path, roots: Sequence[str]) -> None:
    """Refuse a local repository outside the configured roots (symlinks resolved).

    Raises:
        EngineError: no root holds the path.
    """
    real = Path(os.path.realpath(path))
    if not any(real.is_relative_to(os.path.realpath(root)) for root in roots):
        where = ", ".join(roots) if roots else "none are configured"
        raise EngineError(
            f"the local repository {path} is not under a directory of local_repository_roots "
            f"({where})"
        )


def warm_up(settings: EngineSettings) -> None:
    """What every run of this process would compute first, done once (by a worker when it
    starts): the sandbox check and the system's mounts. Never raises: a
    sandbox that cannot start is reported by the runs themselves."""
    if not settings.sandbox:
        return
    try:
        bwrap = find_bwrap(settings.server_env.get("PATH"))
        sandbox.warm_up(bwrap, settings.hidden_paths, settings.tmp_path)
    except (EngineError, OSError):
        pass


def timeout_message(spec: TaskSpec) -> str:
    """The last line of a run stopped for running longer than its limit, naming the setting."""
    setting = "max_task_duration_sec"
    if spec.max_duration_source == TEMPLATE_LIMIT:
        setting = f"the template's {setting}"
    return f"The task ran longer than {setting} ({spec.max_duration_sec} s) and was stopped."


def build_masker(spec: TaskSpec) -> Masker:
    """A Masker knowing every secret of the task: keys, vaults, environment and survey secrets."""
    masker = Masker()
    inventory = spec.inventory
    credentials = [
        spec.repository.credential if spec.repository else None,
        inventory.ssh_key if inventory else None,
        inventory.become_key if inventory else None,
        inventory.repository.credential if inventory and inventory.repository else None,
    ]
    for credential in credentials:
        if credential is not None:
            masker.add(*credential.secret_values())
    masker.add(*(vault.password for vault in spec.template.vaults if vault.password))
    if spec.environment is not None:
        masker.add(*(secret.value for secret in spec.environment.secrets if secret.value))
    masker.add_object(dict(spec.secret))
    return masker


class TaskRunner:
    """Runs one TaskSpec. `run()` once, from one thread; `stop()` from any thread."""

    def __init__(
        self,
        spec: TaskSpec,
        settings: EngineSettings | None = None,
        *,
        on_line: LineCallback,
        on_status: Callable[[str], None] | None = None,
        on_commit: Callable[[str, str], None] | None = None,
        confirm: Callable[[], bool] | None = None,
    ) -> None:
        self.spec = spec
        self.settings = settings or EngineSettings()
        self.masker = build_masker(spec)
        self._on_line = on_line
        self._on_status = on_status
        self._on_commit = on_commit
        self._confirm = confirm
        self._process = ProcessRunner(self._line, self.settings.stop_grace_seconds)
        self._timed_out = False
        self._agents: list[SshAgent] = []
        self._workspace = Workspace(self.settings.tmp_path, spec.task_id)
        self._bwrap: str | None = None
        # The repository directories the run uses (its checkout, local inventory repositories).
        self._repositories: list[Path] = []

    # --- control ----------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop the run: no new command starts; the running one gets SIGTERM, then SIGKILL."""
        self._process.stop()

    @property
    def stopped(self) -> bool:
        return self._process.stopped

    @property
    def pid(self) -> int | None:
        """The pid (and process group) of the command running now, if any."""
        return self._process.pid

    def _time_out(self) -> None:
        """The run's time is up: stop it as a stop does (unless a stop came first)."""
        if not self.stopped:
            self._timed_out = True
            self._process.stop()

    def _start_clock(self) -> threading.Timer | None:
        if self.spec.max_duration_sec <= 0:
            return None
        timer = threading.Timer(self.spec.max_duration_sec, self._time_out)
        timer.daemon = True
        timer.start()
        return timer

    def log(self, text: str) -> None:
        """A line of Semaphore's own in the task's output (masked like the rest)."""
        self._line(text, datetime.now(UTC))

    # --- the run ----------------------------------------------------------------------------

    def run(self) -> RunResult:
        """Prepare and run the task; a task failure is a RunResult, never an exception.

        Raises:
            Exception: only an engine bug (logged in the output first).
        """
        commit: tuple[str | None, str] = (None, "")
        clock = self._start_clock()
        try:
            self.log(f"Preparing: {self.spec.task_id}")
            sweep_due(self.settings.tmp_path)  # what dead runs on this host left
            if self.settings.sandbox:
                self._bwrap = find_bwrap(self.settings.server_env.get("PATH"))
            self._workspace.open()
            app = get_app(self.spec.template.app)
            checkout, commit = self._step("Failed updating repository", self._checkout)
            ctx = self._context(checkout)
            self._step("Failed to install inventory", lambda: self._install_inventory(ctx))
            self._step("Running galaxy failed", lambda: app.install_requirements(ctx))
            app.run(ctx)
            return RunResult(SUCCESS, commit_hash=commit[0], commit_message=commit[1])
        except TaskStopped:
            return self._stopped(commit)
        except (EngineError, OSError) as exc:
            if self.stopped:
                return self._stopped(commit)
            message = str(exc)
            self.log(f"Running app failed: {message}")
            code = exc.exit_code if isinstance(exc, CommandFailed) else None
            return RunResult(ERROR, message, commit[0], commit[1], code)
        except Exception as exc:
            # A bug, not a task failure: say so in the output, and let the job record it.
            self.log(f"Running app failed: {type(exc).__name__}: {exc}")
            raise
        finally:
            if clock is not None:
                clock.cancel()
            self._cleanup()

    def _stopped(self, commit: tuple[str | None, str]) -> RunResult:
        """A stopped run's result: `error`, with its last line, when its time ran out."""
        if self._timed_out:
            message = timeout_message(self.spec)
            self.log(message)
            return RunResult(ERROR, message, commit[0], commit[1])
        return RunResult(STOPPED, "stopped", commit[0], commit[1])

    def _step(self, failure: str, action: Callable[[], T]) -> T:
        """Run a preparation step; log the original's message for it when it fails."""
        try:
            return action()
        except (EngineError, OSError) as exc:
            if not self.stopped:
                self.log(f"{failure}: {exc}")
            raise

    def _cleanup(self) -> None:
        for agent in self._agents:
            agent.stop()
        self._agents.clear()
        self._workspace.cleanup()
        self._process.close()

    def _line(self, text: str, at: datetime) -> None:
        self._on_line(self.masker.mask(text), at)

    def _execute(self, command: Command, observe: Callable[[str], None] | None) -> None:
        def line(text: str, at: datetime) -> None:
            masked = self.masker.mask(text)
            self._on_line(masked, at)
            if observe is not None:
                for each in masked.split("\n"):
                    observe(each)

        status = self._process.run(
            command.argv,
            cwd=command.cwd,
            env=command.env,
            answers=command.answers,
            on_line=line,
            confinement=self._confinement(),
        )
        if self._process.stopped:
            raise TaskStopped()
        if status != 0:
            raise CommandFailed(status)

    def _confinement(self) -> Confinement:
        """The sandbox for the app's next command (its paths as they are now), or, with the
        sandbox off, the supervisor alone."""
        if self._bwrap is None:
            return SUPERVISED
        workspace = self._workspace
        inventories = [p for p in workspace.owned if p.name.startswith("inventory_")]
        writable = [workspace.dir, workspace.socket_dir(), *self._repositories]
        # A checkout's .git stays read-only: git runs outside the sandbox, and its hooks and
        # config (core.fsmonitor, core.sshCommand...) written by a tool would run there next.
        git_dirs = [repo / ".git" for repo in self._repositories if (repo / ".git").is_dir()]
        paths = RunPaths(
            tmp_path=Path(self.settings.tmp_path),
            home=workspace.home_dir(self.spec.project_id),
            writable=list(dict.fromkeys(writable)),
            readable=[p for p in inventories if p.exists()] + git_dirs,
        )
        workspace.stub(*paths.stubs())
        return Sandbox(
            self._bwrap,
            paths,
            hidden=self.settings.hidden_paths,
            extra=self.settings.sandbox_paths,
            server_path=self.settings.server_env.get("PATH", ""),
        )

    def _context(self, checkout: Path) -> RunContext:
        socket_dir = self._workspace.socket_dir()
        (socket_dir / "cp").mkdir(mode=0o700, exist_ok=True)
        return RunContext(
            spec=self.spec,
            settings=self.settings,
            workspace=self._workspace,
            checkout=checkout,
            log=self.log,
            execute=self._execute,
            set_status=self._set_status,
            confirm=self._confirmed,
            socket_dir=socket_dir,
        )

    def _set_status(self, status: str) -> None:
        if self._on_status is not None:
            self._on_status(status)

    def _confirmed(self) -> bool:
        if self._confirm is None or self.stopped:
            return False
        return self._confirm() and not self.stopped

    # --- repository -------------------------------------------------------------------------

    def _checkout(self) -> tuple[Path, tuple[str | None, str]]:
        spec = self.spec
        repository = spec.repository
        if repository is None:
            raise EngineError("the template has no repository")
        branch = spec.git_branch or spec.template.git_branch or repository.branch
        directory, commit = self._sync(repository, branch, commit_hash=spec.commit_hash)
        if commit is None:  # not read on the way: a clone, a commit hash, a local path
            commit = self._git(None, LOCAL).head(directory)
        if commit[0] and self._on_commit is not None:
            self._on_commit(commit[0], commit[1])
        return directory, commit

    def _sync(
        self,
        repository: RepositorySpec,
        branch: str,
        commit_hash: str = "",
        directory: Path | None = None,
    ) -> tuple[Path, Head | None]:
        """Clone or update a repository; a local path is used in place. Returns its directory,
        and HEAD's (hash, subject) when the update read them on the way."""
        kind = repository_kind(repository.url)
        if kind == LOCAL:
            path = Path(repository.url)
            check_local_repository(path, self.settings.local_repository_roots)
            if not path.exists():
                raise EngineError(f"Failed in finding static repository at {repository.url}")
            self._repositories.append(path)
            return path, None
        if directory is None:
            directory = self._workspace.checkout_dir(repository.id, self.spec.template.id)
            self._repositories.append(directory)
        git = self._git(repository.credential, kind)
        maintain = self.spec.task_id % MAINTENANCE_EVERY == 0
        head = git.sync(repository.url, branch, directory, commit_hash, maintain=maintain)
        return directory, head

    def _git(self, credential: Credential | None, kind: str) -> Git:
        agent_socket = None
        askpass = None
        if credential is not None and credential.type == "ssh":
            agent_socket = str(self._agent(credential).socket)
        elif credential is not None and credential.type == "login_password" and kind == HTTPS:
            script = self._workspace.dir / "git-askpass.sh"
            if not script.exists():
                script = self._workspace.secret_file(script.name, ASKPASS_SCRIPT, mode=0o700)
            askpass = (str(script), *https_credentials(credential.login, credential.password))
        env = git_env(
            self.settings.server_env,
            agent_socket=agent_socket,
            ssh_config_path=self.settings.ssh_config_path,
            askpass=askpass,
        )
        return Git(self._program("git"), env, self._run_git, self.log)

    def _run_git(self, argv: Sequence[str], cwd: Path, env: Mapping[str, str]) -> int:
        # Unsandboxed (git needs the server's view of the checkout cache and the network),
        # but in a pid namespace of its own when bubblewrap works, else under the supervisor.
        confinement = Contained(self._bwrap) if self._bwrap else SUPERVISED
        return self._process.run(argv, cwd=cwd, env=env, confinement=confinement)

    def _agent(self, credential: Credential) -> SshAgent:
        """An ssh-agent holding the key (one per key use, as the original)."""
        agent = SshAgent(
            self._workspace.socket_dir(), credential.id, self.settings.server_env.get("PATH")
        )
        self._agents.append(agent)  # before start: stopped in cleanup even if start fails
        return agent.start(credential.private_key, credential.passphrase)

    def _program(self, name: str) -> str:
        found = shutil.which(name, path=self.settings.server_env.get("PATH")) or find_executable(
            name
        )
        if not found:
            raise EngineError(f"{name} is not installed on this server")
        return found

    # --- inventory --------------------------------------------------------------------------

    def _install_inventory(self, ctx: RunContext) -> None:
        inventory = self.spec.inventory
        if inventory is None:
            return
        if inventory.ssh_key is not None and inventory.ssh_key.type == "ssh":
            ctx.inventory_env = dict(self._agent(inventory.ssh_key).env())

        def clone(repository: RepositorySpec, destination: Path) -> Path:
            return self._sync(repository, repository.branch, directory=destination)[0]

        ctx.inventory_path = install_inventory(inventory, self._workspace, ctx.checkout, clone)
