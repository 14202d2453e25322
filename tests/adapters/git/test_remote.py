"""URLs and credentials: pure, no git, no network."""

import base64
from pathlib import Path

import pytest

from conveyor.adapters.git import (
    BearerAuth,
    HttpAuth,
    Remote,
    RemoteConfigError,
    RemoteKind,
    SshAuth,
)
from conveyor.adapters.git.remote import redact, remote_kind, ssh_command


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://bob:s3cret@example.com/r.git", "https://bob:***@example.com/r.git"),
        (
            "fatal: unable to access 'http://u:p%40ss@h:8080/x/'",
            "fatal: unable to access 'http://u:***@h:8080/x/'",
        ),
        ("ssh://git@example.com/r.git", "ssh://git@example.com/r.git"),
        ("https://example.com/r.git", "https://example.com/r.git"),
        ("two https://a:b@x/ and http://c:d@y/", "two https://a:***@x/ and http://c:***@y/"),
    ],
)
def test_redact_hides_url_passwords_only(text, expected):
    assert redact(text) == expected


def test_redact_hides_given_secrets_longest_first():
    assert redact("token abcdef and abc", secrets=("abc", "abcdef")) == "token *** and ***"


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("ssh://git@github.com/o/r.git", RemoteKind.SSH),
        ("git@github.com:o/r.git", RemoteKind.SSH),
        ("github.com:o/r.git", RemoteKind.SSH),
        ("https://github.com/o/r.git", RemoteKind.HTTP),
        ("http://127.0.0.1:8080/r.git", RemoteKind.HTTP),
        ("file:///srv/git/r.git", RemoteKind.LOCAL),
        ("/srv/git/r.git", RemoteKind.LOCAL),
        ("./r.git", RemoteKind.LOCAL),
        ("r.git", RemoteKind.LOCAL),
        ("git://example.com/r.git", RemoteKind.GIT),
    ],
)
def test_remote_kind(url, kind):
    assert remote_kind(url) is kind


def test_unknown_scheme_is_a_config_error():
    with pytest.raises(RemoteConfigError, match="unsupported git URL scheme 'ftp'"):
        remote_kind("ftp://x/r.git")


def test_parse_moves_url_credentials_into_http_auth():
    remote = Remote.parse("https://bot:p%40ss@example.com:8443/o/r.git")
    assert remote.url == "https://example.com:8443/o/r.git"
    assert remote.auth == HttpAuth("bot", "p@ss")
    assert "p@ss" not in repr(remote)
    assert "p%40ss" not in repr(remote)


def test_parse_refuses_credentials_given_twice():
    with pytest.raises(RemoteConfigError) as raised:
        Remote.parse("https://bot:hunter2@example.com/r.git", auth=HttpAuth("x", "y"))
    assert "hunter2" not in str(raised.value)


def test_a_url_with_a_password_is_refused_without_showing_it():
    with pytest.raises(RemoteConfigError) as raised:
        Remote("https://bot:hunter2@example.com/r.git")
    assert "hunter2" not in str(raised.value)
    assert "bot:***@example.com" in str(raised.value)


def test_parse_makes_local_paths_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert Remote.parse("repo.git").url == str(tmp_path / "repo.git")


def test_auth_must_fit_the_url_kind(tmp_path):
    with pytest.raises(RemoteConfigError, match="SSH deploy key"):
        Remote("https://example.com/r.git", SshAuth(tmp_path / "k", tmp_path / "kh"))
    with pytest.raises(RemoteConfigError, match="HTTP credentials"):
        Remote("ssh://git@example.com/r.git", HttpAuth("u", "p"))


def test_reprs_hold_no_secret():
    assert "tok3n" not in repr(Remote("https://h/r.git", BearerAuth("tok3n")))
    assert "pa55" not in repr(Remote("https://h/r.git", HttpAuth("u", "pa55")))


def test_http_auth_travels_as_a_url_scoped_header_in_config():
    remote = Remote("https://h/r.git", HttpAuth("u", "pa55"))
    ((key, value),) = remote.git_config()
    assert key == "http.https://h/r.git.extraHeader"
    assert value == "Authorization: Basic " + base64.b64encode(b"u:pa55").decode()
    assert remote.git_env() == {}
    assert "pa55" in remote.secrets()
    assert base64.b64encode(b"u:pa55").decode() in remote.secrets()


def test_bearer_auth_header():
    remote = Remote("https://h/r.git", BearerAuth("tok"))
    assert remote.git_config() == (
        ("http.https://h/r.git.extraHeader", "Authorization: Bearer tok"),
    )


def test_ssh_command_pins_the_key_and_the_host_key():
    command = ssh_command(SshAuth(Path("/keys/deploy key"), Path("/keys/known_hosts")))
    assert "-i '/keys/deploy key'" in command
    for option in (
        "IdentitiesOnly=yes",
        "StrictHostKeyChecking=yes",
        "BatchMode=yes",
        "UserKnownHostsFile=/keys/known_hosts",
        "IdentityAgent=none",
    ):
        assert f"-o {option}" in command


def test_ssh_remote_without_key_still_never_prompts():
    env = Remote("git@example.com:o/r.git").git_env()
    assert "BatchMode=yes" in env["GIT_SSH_COMMAND"]
    assert "StrictHostKeyChecking=yes" in env["GIT_SSH_COMMAND"]


def test_missing_key_files_are_reported(tmp_path):
    remote = Remote("ssh://git@h/r.git", SshAuth(tmp_path / "nokey", tmp_path / "kh"))
    with pytest.raises(RemoteConfigError, match=r"deploy key file .*nokey"):
        remote.check_files()
