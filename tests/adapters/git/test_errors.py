"""Picking the error type from git's stderr: pure."""

import pytest

from conveyor.adapters.git import GitAuthError, GitCommandError, GitHostKeyError, GitNotFoundError
from conveyor.adapters.git.errors import command_failure


@pytest.mark.parametrize(
    ("stderr", "kind"),
    [
        (
            "Host key verification failed.\nfatal: Could not read from remote repository.",
            GitHostKeyError,
        ),
        ("git@h: Permission denied (publickey).\nfatal: Could not read", GitAuthError),
        ("fatal: could not read Username for 'http://h': terminal prompts disabled", GitAuthError),
        ("fatal: Authentication failed for 'https://h/r.git/'", GitAuthError),
        ("fatal: couldn't find remote ref refs/heads/nope", GitNotFoundError),
        ("fatal: path 'x' does not exist in 'HEAD'", GitNotFoundError),
        ("fatal: the remote end hung up unexpectedly", GitCommandError),
    ],
)
def test_error_kind_from_stderr(stderr, kind):
    error = command_failure(
        what="fetch main", argv=("git", "fetch"), returncode=128, stderr=stderr, remote="h/r.git"
    )
    assert type(error) is kind
    assert str(error).startswith("fetch main (h/r.git)")
    assert error.returncode == 128


def test_hints_are_left_out_of_the_message():
    error = command_failure(
        what="push",
        argv=("git",),
        returncode=1,
        stderr="error: failed\nhint: try pull\n",
        remote=None,
    )
    assert "hint:" not in str(error)
    assert "error: failed" in str(error)


def test_host_key_message_says_what_to_check():
    error = command_failure(
        what="fetch",
        argv=("git",),
        returncode=128,
        stderr="Host key verification failed.",
        remote=None,
    )
    assert "known_hosts" in str(error)
