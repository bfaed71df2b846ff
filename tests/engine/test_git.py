"""Checking out repositories for real: file://, local paths, ssh to the loopback sshd, http."""

from __future__ import annotations

import base64
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from semaphore.engine.git import repository_kind
from semaphore.engine.spec import Credential
from tests.engine.conftest import git, leftovers, run_task, task, unique_key_id

pytestmark = pytest.mark.single_db

SCRIPT = {"run.sh": 'echo "content: $(cat data.txt)"\n', "data.txt": "one\n"}


def checkout_of(settings) -> Path:
    return Path(settings.tmp_path) / "repository_3_7"


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("/srv/repo", "local"),
        ("https://example.com/r.git", "https"),
        ("http://example.com/r.git", "https"),
        ("file:///srv/repo.git", "file"),
        ("ssh://git@example.com/r.git", "ssh"),
        ("git@example.com:r.git", "ssh"),
        ("git://example.com/r.git", "git"),
    ],
)
def test_repository_kind_follows_the_url(url: str, kind: str) -> None:
    assert repository_kind(url) == kind


def test_file_url_is_cloned_once_then_fetched(make_repo, settings) -> None:
    repo = make_repo(SCRIPT, message="first version")
    first = run_task(task(repo.url), settings)
    assert first.result.status == "success", first.output
    assert "content: one" in first.lines
    head = git("rev-parse", "HEAD", cwd=repo.work)
    assert first.commits == [(head, "first version")]
    assert (first.result.commit_hash, first.result.commit_message) == (head, "first version")
    assert any(line.startswith("Cloning Repository") for line in first.lines)

    marker = checkout_of(settings) / "untracked-cache"
    marker.write_text("kept")  # e.g. .terraform: an update keeps untracked files
    second_hash = repo.commit({"data.txt": "two\n"}, "second version")
    second = run_task(task(repo.url, task_id=2), settings)
    assert second.result.status == "success", second.output
    assert "content: two" in second.lines
    assert any(line.startswith("Updating Repository") for line in second.lines)
    assert second.commits == [(second_hash, "second version")]
    assert marker.exists()
    assert leftovers(settings) == []


@pytest.fixture
def git_starts(monkeypatch) -> list[list[str]]:
    """The argv of each process started from Python that runs git, as it starts: every process
    the engine starts goes through subprocess.Popen (subprocess.run included)."""
    started: list[list[str]] = []

    class Recording(subprocess.Popen):
        def __init__(self, args, *more, **kwargs) -> None:
            if any(Path(str(arg)).name == "git" for arg in args):
                started.append([str(arg) for arg in args])
            super().__init__(args, *more, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", Recording)
    return started


def updating(run) -> bool:
    return any(line.startswith("Updating Repository") for line in run.lines)


def test_an_update_is_one_git_process_and_reports_the_new_head(
    make_repo, settings, git_starts
) -> None:
    repo = make_repo(SCRIPT, message="first version")
    assert run_task(task(repo.url), settings).result.status == "success"
    new = repo.commit({"data.txt": "two\n"}, "second version")
    git_starts.clear()
    run = run_task(task(repo.url, task_id=2), settings)
    assert run.result.status == "success", run.output
    assert updating(run) and "content: two" in run.lines
    assert len(git_starts) == 1, git_starts  # no config check, no log of its own
    assert run.commits == [(new, "second version")]
    assert (run.result.commit_hash, run.result.commit_message) == (new, "second version")
    # The update's log writes to a file of ours, not to the task's output.
    assert new not in run.output and "second version" not in run.lines


def test_a_checkout_cloned_before_the_origin_file_asks_git_once(
    make_repo, settings, git_starts
) -> None:
    repo = make_repo(SCRIPT, message="the head")
    head = git("rev-parse", "HEAD", cwd=repo.work)
    assert run_task(task(repo.url), settings).result.status == "success"
    (checkout_of(settings) / ".git" / "semaphore-origin").unlink()
    started = []
    for task_id in (2, 3):
        git_starts.clear()
        run = run_task(task(repo.url, task_id=task_id), settings)
        started.append(list(git_starts))
        assert run.result.status == "success" and updating(run), run.output
        assert run.commits == [(head, "the head")]
    assert [len(s) for s in started] == [2, 1], started
    assert started[0][0][1:] == ["config", "--get", "remote.origin.url"]


def test_a_changed_url_clones_again_then_updates_from_it(make_repo, settings, git_starts) -> None:
    first = make_repo(SCRIPT)
    other = make_repo({**SCRIPT, "data.txt": "other\n"}, message="other head")
    assert run_task(task(first.url), settings).result.status == "success"
    cloned = run_task(task(other.url, task_id=2), settings)
    assert "content: other" in cloned.lines and not updating(cloned)
    assert any(line.startswith("Cloning Repository") for line in cloned.lines)
    git_starts.clear()
    run = run_task(task(other.url, task_id=3), settings)
    assert updating(run) and "content: other" in run.lines
    assert len(git_starts) == 1, git_starts
    assert run.commits == [(git("rev-parse", "HEAD", cwd=other.work), "other head")]


def test_a_failed_update_clones_again_and_reports_its_head(make_repo, settings) -> None:
    repo = make_repo(SCRIPT, message="the head")
    assert run_task(task(repo.url), settings).result.status == "success"
    # The origin file is trusted: a fetch from a remote edited behind our back fails.
    git("remote", "set-url", "origin", "file:///nowhere.git", cwd=checkout_of(settings))
    run = run_task(task(repo.url, task_id=2), settings)
    assert run.result.status == "success", run.output
    assert "Updating failed, cloning the repository again" in run.lines
    assert run.commits == [(git("rev-parse", "HEAD", cwd=repo.work), "the head")]
    assert "the head" not in run.lines


def test_branches_switch_both_ways_and_the_task_branch_wins(make_repo, settings) -> None:
    repo = make_repo(SCRIPT)
    repo.commit({"data.txt": "dev data\n"}, "on dev", branch="dev")
    runs = [
        run_task(task(repo.url), settings),
        run_task(task(repo.url, template={"git_branch": "dev"}), settings),
        run_task(task(repo.url, git_branch="main", template={"git_branch": "dev"}), settings),
    ]
    assert [r.result.status for r in runs] == ["success"] * 3
    assert ["content: one" in runs[0].lines, "content: dev data" in runs[1].lines] == [True, True]
    assert "content: one" in runs[2].lines
    assert git("rev-parse", "--abbrev-ref", "HEAD", cwd=checkout_of(settings)) == "main"


def test_a_commit_hash_is_checked_out(make_repo, settings) -> None:
    repo = make_repo(SCRIPT, message="old")
    old = git("rev-parse", "HEAD", cwd=repo.work)
    repo.commit({"data.txt": "new\n"}, "new")
    run = run_task(task(repo.url, commit_hash=old), settings)
    assert run.result.status == "success", run.output
    assert "content: one" in run.lines
    assert run.commits == [(old, "old")]


def test_a_changed_url_clones_again(make_repo, settings) -> None:
    first = make_repo(SCRIPT)
    other = make_repo({**SCRIPT, "data.txt": "other\n"})
    assert run_task(task(first.url), settings).result.status == "success"
    run = run_task(task(other.url), settings)
    assert "content: other" in run.lines
    assert any(line.startswith("Cloning Repository") for line in run.lines)


def test_a_local_path_is_used_in_place(make_repo, settings) -> None:
    repo = make_repo(SCRIPT, message="local head")
    run = run_task(task(str(repo.work)), settings)
    assert run.result.status == "success", run.output
    assert "content: one" in run.lines
    assert run.commits == [(git("rev-parse", "HEAD", cwd=repo.work), "local head")]
    assert not checkout_of(settings).exists()


def test_a_missing_local_path_fails_the_task(settings, tmp_path) -> None:
    run = run_task(task(str(tmp_path / "nowhere")), settings)
    assert run.result.status == "error"
    assert any("Failed in finding static repository" in line for line in run.lines)


def test_a_missing_branch_fails_with_gits_message(make_repo, settings) -> None:
    repo = make_repo(SCRIPT)
    run = run_task(task(repo.url, git_branch="nope"), settings)
    assert run.result.status == "error"
    assert any("Remote branch nope not found" in line for line in run.lines), run.output
    assert run.lines[-1] == "Running app failed: exit status 128"


# --- over ssh ---------------------------------------------------------------------------------


@pytest.mark.parametrize("key_name", ["good", "locked", "pem"])
def test_ssh_with_a_key_and_with_passphrase_keys(make_repo, settings, sshd, ssh_keys, key_name):
    repo = make_repo(SCRIPT, message="over ssh")
    key = ssh_keys[key_name]
    key_id = unique_key_id()
    credential = Credential("ssh", id=key_id, private_key=key.private, passphrase=key.passphrase)
    run = run_task(task(sshd.url(repo.bare), credential=credential), settings)
    assert run.result.status == "success", run.output
    assert "content: one" in run.lines
    assert run.result.commit_message == "over ssh"
    # Nothing of the key is left: no agent socket, no key file, no task directory.
    assert leftovers(settings) == []
    assert not list(Path("/tmp").glob(f"sem-*/ssh-agent-{key_id}-*"))


def test_ssh_second_run_fetches_with_the_key(make_repo, settings, sshd, ssh_keys) -> None:
    repo = make_repo(SCRIPT)
    credential = Credential("ssh", id=unique_key_id(), private_key=ssh_keys["good"].private)
    spec = task(sshd.url(repo.bare), credential=credential)
    assert run_task(spec, settings).result.status == "success"
    repo.commit({"data.txt": "fetched\n"}, "second")
    run = run_task(replace(spec, task_id=2), settings)
    assert run.result.status == "success", run.output
    assert "content: fetched" in run.lines


def test_ssh_with_a_wrong_key_fails_with_gits_message(make_repo, settings, sshd, ssh_keys):
    repo = make_repo(SCRIPT)
    credential = Credential("ssh", id=unique_key_id(), private_key=ssh_keys["wrong"].private)
    run = run_task(task(sshd.url(repo.bare), credential=credential), settings)
    assert run.result.status == "error"
    assert any("Permission denied (publickey)" in line for line in run.lines), run.output
    assert any("Could not read from remote repository" in line for line in run.lines)
    assert run.lines[-1] == "Running app failed: exit status 128"
    assert leftovers(settings) == []


def test_a_wrong_passphrase_fails_before_git_runs(make_repo, settings, sshd, ssh_keys):
    repo = make_repo(SCRIPT)
    key = ssh_keys["locked"]
    credential = Credential(
        "ssh", id=unique_key_id(), private_key=key.private, passphrase="wrong passphrase"
    )
    run = run_task(task(sshd.url(repo.bare), credential=credential), settings)
    assert run.result.status == "error"
    assert any("cannot load the SSH private key" in line for line in run.lines), run.output


# --- over http with a login and password ------------------------------------------------------


class GitHttpBackend(BaseHTTPRequestHandler):
    """`git http-backend` behind HTTP basic authentication."""

    root: Path
    expected: str

    def do_GET(self) -> None:  # noqa: N802
        self._serve()

    def do_POST(self) -> None:  # noqa: N802
        self._serve()

    def log_message(self, *args) -> None:
        pass

    def _serve(self) -> None:
        if self.headers.get("Authorization") != self.expected:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        path, _, query = self.path.partition("?")
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        env = {
            "GIT_PROJECT_ROOT": str(self.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "REQUEST_METHOD": self.command,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
            "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
            "REMOTE_USER": "user",
            "REMOTE_ADDR": "127.0.0.1",
            "GIT_CONFIG_NOSYSTEM": "1",
        }
        out = subprocess.run(
            ["git", "http-backend"], input=body, env=env, capture_output=True, check=True
        ).stdout
        head, _, payload = out.partition(b"\r\n\r\n")
        headers = [line.split(": ", 1) for line in head.decode().split("\r\n") if line]
        status = next((int(v.split()[0]) for k, v in headers if k.lower() == "status"), 200)
        self.send_response(status)
        for name, value in headers:
            if name.lower() != "status":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture
def http_git(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """(base URL, project root) of a git server that wants user `deploy`, password `s3cr3t!`."""
    root = tmp_path / "http-root"
    root.mkdir()
    handler = type(
        "Handler",
        (GitHttpBackend,),
        {"root": root, "expected": "Basic " + base64.b64encode(b"deploy:s3cr3t!").decode()},
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()
    server.server_close()


def test_http_with_login_and_password_never_puts_them_on_disk_or_argv(
    make_repo, settings, http_git
) -> None:
    base, root = http_git
    repo = make_repo(SCRIPT)
    repo.bare.rename(root / "repo.git")
    url = f"{base}/repo.git"
    good = Credential("login_password", id=9, login="deploy", password="s3cr3t!")
    run = run_task(task(url, credential=good), settings)
    assert run.result.status == "success", run.output
    assert "content: one" in run.lines
    config = (checkout_of(settings) / ".git" / "config").read_text()
    assert "s3cr3t!" not in config and url in config
    assert leftovers(settings) == []  # the askpass helper went with the task directory

    bad = Credential("login_password", id=9, login="deploy", password="wrong")
    failed = run_task(task(url, credential=bad, task_id=2), settings)
    assert failed.result.status == "error"
    assert any("Authentication failed" in line for line in failed.lines), failed.output


def test_gits_automatic_maintenance_is_checked_on_one_update_in_sixteen(
    make_repo, settings, tmp_path
) -> None:
    trace = tmp_path / "git-trace"
    traced = replace(settings, server_env={**settings.server_env, "GIT_TRACE": str(trace)})
    repo = make_repo(SCRIPT)

    def maintenance_checked(task_id: int) -> bool:
        trace.unlink(missing_ok=True)
        run = run_task(task(repo.url, task_id=task_id), traced)
        assert run.result.status == "success", run.output
        assert any(line.startswith("Updating Repository") for line in run.lines)
        return "maintenance run --auto" in trace.read_text()

    assert run_task(task(repo.url, task_id=1), traced).result.status == "success"  # the clone
    assert not maintenance_checked(2)
    assert not maintenance_checked(17)
    assert maintenance_checked(32)
