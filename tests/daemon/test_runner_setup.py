"""Following the settings' secret references and building the adapters' objects from them."""

import stat
from pathlib import Path

import pytest

from conveyor.adapters.git import HttpAuth, SshAuth
from conveyor.adapters.notify import JsonWebhookTarget, SlackTarget
from conveyor.core.events import GitProvider, ImageProvider
from conveyor.daemon.runner_setup import (
    SecretReader,
    SetupError,
    api_token,
    git_remote,
    notification_targets,
    webhook_secrets,
)
from conveyor.daemon.settings import parse_settings


def settings_for(tmp_path, flags=None, environ=None, file_data=None):
    return parse_settings(
        flags={"state_dir": tmp_path / "state", **(flags or {})},
        environ=environ or {},
        file_data=file_data,
        home=tmp_path,
    )


def test_without_a_configured_token_one_is_generated_once(tmp_path):
    settings = settings_for(tmp_path, {"repo": "/srv/config"})
    seen = []
    token = api_token(settings, SecretReader({}, on_secret=seen.append))
    path = tmp_path / "state" / "api-token"
    assert len(token) >= 32 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert api_token(settings, SecretReader({})) == token
    assert seen == [token], "the value goes to the log redactor"


def test_a_missing_secret_names_its_variable_and_never_a_value(tmp_path):
    settings = settings_for(tmp_path, {"repo": "/srv/config"}, {"CONVEYOR_API_TOKEN": "x" * 20})
    with pytest.raises(SetupError, match="CONVEYOR_API_TOKEN is not set"):
        api_token(settings, SecretReader({}))


def test_the_most_specific_webhook_secret_wins(tmp_path):
    secret_file = tmp_path / "images"
    secret_file.write_text("image-secret\n")
    settings = settings_for(
        tmp_path,
        {"repo": "/srv/config"},
        {"CONVEYOR_WEBHOOK_SECRET": "for-everyone"},
        {
            "webhooks": [
                {"provider": "image/*", "secretFile": str(secret_file)},
                {"provider": "git/github", "secretEnv": "GH"},
            ]
        },
    )
    environ = {"CONVEYOR_WEBHOOK_SECRET": "for-everyone", "GH": "github-secret"}
    secrets = webhook_secrets(settings, SecretReader(environ))
    assert secrets.for_git(GitProvider.GITHUB) == "github-secret"
    assert secrets.for_git(GitProvider.GITLAB) == "for-everyone"
    assert secrets.for_image(ImageProvider.QUAY) == "image-secret"


def test_no_webhook_secret_means_webhooks_are_off(tmp_path):
    secrets = webhook_secrets(settings_for(tmp_path, {"repo": "/srv/config"}), SecretReader({}))
    assert (dict(secrets.git), dict(secrets.image)) == ({}, {})


def test_an_ssh_repo_uses_the_generated_key_unless_one_is_given(tmp_path):
    known_hosts = tmp_path / "known_hosts"
    settings = settings_for(
        tmp_path, {"repo": "ssh://git@git.example.com/org/config.git", "known_hosts": known_hosts}
    )
    remote = git_remote(settings, SecretReader({}))
    assert remote.auth == SshAuth(settings.identity_dir / "id_ed25519", known_hosts)
    assert remote.auth.private_key.is_file()


def test_an_ssh_repo_needs_known_hosts(tmp_path):
    settings = settings_for(tmp_path, {"repo": "ssh://git@git.example.com/org/config.git"})
    with pytest.raises(SetupError, match="--known-hosts is required"):
        git_remote(settings, SecretReader({}))


def test_an_http_repo_reads_its_password_from_the_named_variable(tmp_path):
    settings = settings_for(
        tmp_path,
        {
            "repo": "https://git.example.com/org/config.git",
            "http_user": "bot",
            "http_password_env": "GIT_PASSWORD",
        },
    )
    remote = git_remote(settings, SecretReader({"GIT_PASSWORD": "pa55word-value"}))
    assert remote.auth == HttpAuth("bot", "pa55word-value")
    assert "pa55word" not in repr(remote)


def test_a_password_in_the_repo_url_is_refused(tmp_path):
    settings = settings_for(tmp_path, {"repo": "https://bot:pa55word@git.example.com/c.git"})
    with pytest.raises(SetupError) as excinfo:
        git_remote(settings, SecretReader({}))
    assert "pa55word" not in str(excinfo.value)


def test_notification_targets_get_their_urls_from_the_environment(tmp_path):
    settings = settings_for(
        tmp_path,
        {"repo": "/srv/config"},
        file_data={
            "notifications": [
                {"name": "ops", "type": "slack", "urlEnv": "SLACK_URL"},
                {"name": "ci", "type": "json", "url": "https://ci.example.com/h", "secretEnv": "K"},
            ]
        },
    )
    environ = {"SLACK_URL": "https://hooks.slack.com/services/T0/B0/xyz", "K": "hmac-key-1"}
    slack, hook = notification_targets(settings, SecretReader(environ))
    assert isinstance(slack, SlackTarget) and slack.webhook_url == environ["SLACK_URL"]
    assert isinstance(hook, JsonWebhookTarget) and hook.secret == "hmac-key-1"
    assert hook.url == "https://ci.example.com/h"


def test_a_secret_file_that_is_empty_is_refused(tmp_path):
    empty = tmp_path / "empty"
    empty.write_text("\n")
    settings = settings_for(tmp_path, {"repo": "/srv/config", "api_token_file": Path(empty)})
    with pytest.raises(SetupError, match="is empty"):
        api_token(settings, SecretReader({}))
