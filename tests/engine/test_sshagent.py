"""SSH keys are decrypted in memory and held by an ssh-agent that goes away with the run."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest

from semaphore.engine.errors import EngineError
from semaphore.engine.sshagent import SshAgent, _accepting, unlock_private_key

pytestmark = pytest.mark.single_db


@pytest.mark.parametrize("name", ["good", "locked", "pem"])
def test_keys_are_unlocked_to_openssh_format(ssh_keys, name) -> None:
    key = ssh_keys[name]
    plain = unlock_private_key(key.private, key.passphrase)
    assert plain.startswith(b"-----BEGIN OPENSSH PRIVATE KEY-----")


def test_a_passphrase_given_for_a_plain_key_is_ignored(ssh_keys) -> None:
    assert unlock_private_key(ssh_keys["good"].private, "not needed")


@pytest.mark.parametrize(
    ("name", "passphrase", "message"),
    [
        ("locked", "", "password-protected"),
        ("locked", "wrong", "cannot load"),
        ("pem", "", "encrypted"),
        ("pem", "wrong", "Incorrect password"),
    ],
)
def test_a_missing_or_wrong_passphrase_is_refused(ssh_keys, name, passphrase, message) -> None:
    with pytest.raises(EngineError, match=message):
        unlock_private_key(ssh_keys[name].private, passphrase)


def test_the_agent_holds_the_key_until_stopped(ssh_keys, tmp_path: Path) -> None:
    key = ssh_keys["locked"]
    agent = SshAgent(tmp_path, 31, "/usr/bin:/bin").start(key.private, key.passphrase)
    listed = subprocess.run(
        ["ssh-add", "-L"], env=dict(agent.env()), capture_output=True, text=True, check=True
    )
    assert listed.stdout.split()[1] == key.public.split()[1]
    assert agent.socket.name.startswith("ssh-agent-31-")
    agent.stop()
    assert not agent.socket.exists()
    assert not list(tmp_path.iterdir())  # nothing of the key was written


def test_the_agent_counts_as_started_once_it_accepts_not_once_its_socket_exists(
    tmp_path: Path,
) -> None:
    # ssh-agent binds its socket a moment before it listens: an ssh-add in between is refused.
    path = tmp_path / "agent.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        server.bind(str(path))
        assert path.exists() and not _accepting(path)
        server.listen(1)
        assert _accepting(path)
    finally:
        server.close()
    assert not _accepting(tmp_path / "missing.sock")
