"""The one choke point that runs git: clean environment, errors, redaction, deadlines.

These run the real git program on temp directories; no services needed.
"""

import os
from pathlib import Path

import anyio
import pytest

from conveyor.adapters.git import (
    GitCommandError,
    GitNotInstalledError,
    GitSettings,
    GitTimeoutError,
    Identity,
    run_git,
)
from conveyor.adapters.git.runner import git_environment

pytestmark = pytest.mark.anyio


async def test_inherited_git_variables_and_config_do_not_leak(settings, monkeypatch, tmp_path):
    monkeypatch.setenv("GIT_DIR", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Inherited Person")
    monkeypatch.setenv("SSH_AUTH_SOCK", "/tmp/agent.sock")
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / ".gitconfig").write_text("[user]\n\tname = From The User Config\n")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    result = await run_git(settings, ["var", "GIT_AUTHOR_IDENT"])
    assert result.text.startswith("conveyor <conveyor@conveyor.invalid> ")
    env = git_environment(settings)
    assert env["HOME"] == str(settings.home)
    assert env["GIT_TERMINAL_PROMPT"] == "0"
    assert env["GIT_CONFIG_NOSYSTEM"] == "1"
    assert "GIT_DIR" not in env
    assert "SSH_AUTH_SOCK" not in env


async def test_configured_identity(tmp_path):
    settings = GitSettings(
        home=tmp_path / "home", identity=Identity("Release Bot", "bot@ex.invalid")
    )
    result = await run_git(settings, ["var", "GIT_COMMITTER_IDENT"])
    assert result.text.startswith("Release Bot <bot@ex.invalid> ")


async def test_config_entries_go_through_the_environment_not_argv(settings):
    result = await run_git(
        settings, ["config", "--get", "conveyor.probe"], config=[("conveyor.probe", "value-in-env")]
    )
    assert result.text.strip() == "value-in-env"
    assert "value-in-env" not in " ".join(result.argv)


async def test_a_failure_is_redacted(settings):
    secret = "hunter2-very-secret"
    with pytest.raises(GitCommandError) as raised:
        await run_git(
            settings,
            ["ls-remote", f"http://bot:{secret}@127.0.0.1:1/r.git"],
            timeout=30,
            secrets=(secret,),
        )
    error = raised.value
    assert secret not in str(error)
    assert secret not in " ".join(error.argv)
    assert secret not in error.stderr
    assert "http://bot:***@127.0.0.1:1/r.git" in error.argv


async def test_check_false_returns_the_failure(settings, tmp_path):
    result = await run_git(settings, ["-C", str(tmp_path), "rev-parse", "HEAD"], check=False)
    assert result.returncode != 0
    assert "not a git repository" in result.stderr


async def test_git_missing_is_reported(tmp_path):
    settings = GitSettings(home=tmp_path / "home", program=str(tmp_path / "no-git-here"))
    with pytest.raises(GitNotInstalledError, match="install git"):
        await run_git(settings, ["version"])


def process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().rsplit(")", 1)[-1].split()[0] == "Z"


async def test_a_command_past_its_deadline_is_killed_with_its_children(settings, tmp_path):
    pid_file = tmp_path / "ssh.pid"
    # A fake ssh that records its pid and hangs; the trailing ':' swallows git's arguments.
    hang = f"echo $$ > {pid_file}; sleep 60; :"
    with pytest.raises(GitTimeoutError, match=r"did not finish within 0\.5s"):
        await run_git(
            settings,
            ["ls-remote", "ssh://127.0.0.1/r.git"],
            env={"GIT_SSH_COMMAND": hang},
            timeout=0.5,
        )
    pid = int(pid_file.read_text())
    for _ in range(100):
        if process_gone(pid):
            break
        await anyio.sleep(0.05)
    assert process_gone(pid)
