"""The daemon's settings: precedence (flag > variable > file > default), parsing and validation."""

from pathlib import Path

import pytest
import yaml

from conveyor.adapters.notify import NotificationEvent
from conveyor.daemon.settings import (
    OPTIONS,
    ListenAddress,
    SettingsError,
    parse_duration,
    parse_listen,
    parse_settings,
    read_settings_file,
)
from conveyor.daemon.settings_sources import SecretSource, WebhookSecretSpec

HOME = Path("/home/ops")
REPO = "ssh://git@git.example.com/org/config.git"


def parse(flags=None, environ=None, file_data=None):
    return parse_settings(
        flags=flags or {}, environ=environ or {}, file_data=file_data, file_name="c.yaml", home=HOME
    )


def problems_of(excinfo):
    return {problem.path: problem.message for problem in excinfo.value.problems}


def test_defaults_need_only_the_repo():
    settings = parse({"repo": REPO})
    assert settings.repo == REPO
    assert settings.branch == "main"
    assert settings.paths == (".",)
    assert settings.state_dir == HOME / ".cache" / "conveyor" / "daemon"
    assert (settings.sync_interval, settings.scan_interval, settings.health_timeout) == (
        60.0,
        300.0,
        120.0,
    )
    assert settings.listen == ListenAddress("127.0.0.1", 8080)
    assert (settings.api_token, settings.webhook_secrets, settings.notifications) == (None, (), ())
    assert settings.prune and settings.automation and not settings.verify_signatures


def test_a_flag_beats_a_variable_which_beats_the_file():
    file_data = {"repo": REPO, "branch": "from-file", "syncInterval": "2m", "scanInterval": 7}
    environ = {"CONVEYOR_BRANCH": "from-env", "CONVEYOR_SYNC_INTERVAL": "30s"}
    settings = parse({"branch": "from-flag"}, environ, file_data)
    assert settings.branch == "from-flag"
    assert settings.sync_interval == 30.0
    assert settings.scan_interval == 7.0


def test_an_empty_variable_counts_as_unset():
    settings = parse({"repo": REPO}, {"CONVEYOR_BRANCH": ""}, {"branch": "prod"})
    assert settings.branch == "prod"


def test_lists_come_from_repeated_flags_yaml_lists_or_comma_separated_variables():
    assert parse({"repo": REPO, "paths": ["a", "b"]}).paths == ("a", "b")
    assert parse({"repo": REPO}, {"CONVEYOR_PATHS": "a, b"}).paths == ("a", "b")
    assert parse(
        file_data={"repo": REPO, "insecureRegistries": ["r:5000"]}
    ).insecure_registries == ("r:5000",)


@pytest.mark.parametrize(
    ("text", "seconds"), [("45", 45.0), ("500ms", 0.5), ("30s", 30.0), ("5m", 300.0), (2, 2.0)]
)
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["0", "-1", "5 minutes", "", True, "1d"])
def test_bad_durations(text):
    with pytest.raises(ValueError, match="seconds"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("127.0.0.1:8080", ListenAddress("127.0.0.1", 8080)),
        (":9000", ListenAddress("0.0.0.0", 9000)),
        ("[::1]:0", ListenAddress("::1", 0)),
        ("localhost:80", ListenAddress("localhost", 80)),
    ],
)
def test_listen_addresses(text, address):
    assert parse_listen(text) == address


@pytest.mark.parametrize("text", ["8080", "host:", "host:99999", "::1:80"])
def test_bad_listen_addresses(text):
    with pytest.raises(ValueError, match=r"HOST:PORT|brackets"):
        parse_listen(text)


def test_every_problem_is_reported_at_once_with_where_it_came_from():
    with pytest.raises(SettingsError) as excinfo:
        parse(
            {"sync_interval": "soon"},
            {"CONVEYOR_LISTEN": "nowhere", "CONVEYOR_PRUNE": "maybe"},
            {"colour": "blue", "logLevel": "loud"},
        )
    problems = problems_of(excinfo)
    assert set(problems) == {
        "--sync-interval",
        "CONVEYOR_LISTEN",
        "CONVEYOR_PRUNE",
        "c.yaml: logLevel",
        "c.yaml: colour",
        "--repo / CONVEYOR_REPO / repo",
    }
    assert problems["c.yaml: colour"] == "unknown key"


def test_problems_never_quote_the_value_given():
    with pytest.raises(SettingsError) as excinfo:
        parse({"repo": REPO}, {"CONVEYOR_HEALTH_TIMEOUT": "hunter2-secret"})
    assert "hunter2" not in str(excinfo.value)


def test_http_credentials_come_in_pairs_and_exclude_an_ssh_key():
    with pytest.raises(SettingsError) as excinfo:
        parse({"repo": REPO, "http_user": "bot", "ssh_key": Path("/k")})
    assert set(problems_of(excinfo)) == {
        "--http-user / CONVEYOR_HTTP_USER / httpUser",
        "--ssh-key / CONVEYOR_SSH_KEY / sshKey",
    }


def test_secrets_are_referenced_never_held():
    settings = parse(
        {"repo": REPO, "webhook_secret_file": Path("/run/secrets/hooks")},
        {"CONVEYOR_API_TOKEN": "t0ken-value", "CONVEYOR_WEBHOOK_SECRET": "s3cret-value"},
    )
    assert settings.api_token == SecretSource(env="CONVEYOR_API_TOKEN")
    assert settings.webhook_secrets == (
        WebhookSecretSpec("*", SecretSource(file=Path("/run/secrets/hooks"))),
        WebhookSecretSpec("*", SecretSource(env="CONVEYOR_WEBHOOK_SECRET")),
    )
    assert "t0ken-value" not in repr(settings) and "s3cret-value" not in repr(settings)


def test_an_api_token_file_beats_the_token_variable():
    settings = parse(
        {"repo": REPO, "api_token_file": Path("/t")}, {"CONVEYOR_API_TOKEN": "t0ken-value"}
    )
    assert settings.api_token == SecretSource(file=Path("/t"))


def test_webhook_secrets_and_notifications_from_the_file():
    settings = parse(
        file_data={
            "repo": REPO,
            "webhooks": [
                {"provider": "git/github", "secretEnv": "GH_SECRET"},
                {"provider": "image/*", "secretFile": "/s/images"},
            ],
            "notifications": [
                {"name": "ops", "type": "slack", "urlEnv": "SLACK_URL", "events": ["rollback"]},
                {"name": "ci", "type": "json", "url": "https://ci.example.com/h"},
                {
                    "name": "mail",
                    "type": "email",
                    "smtpHost": "smtp.example.com",
                    "sender": "c@example.com",
                    "recipients": ["o@example.com"],
                    "passwordEnv": "SMTP_PASSWORD",
                },
            ],
        }
    )
    github, images = settings.webhook_secrets
    assert github.matches("git", "github") and not github.matches("git", "gitlab")
    assert images.matches("image", "quay") and images.specificity() < github.specificity()
    ops, ci, mail = settings.notifications
    assert (ops.type, ops.url_source, ops.events) == (
        "slack",
        SecretSource(env="SLACK_URL"),
        frozenset({NotificationEvent.ROLLBACK}),
    )
    assert (ci.url, ci.events) == ("https://ci.example.com/h", frozenset(NotificationEvent))
    assert mail.secret == SecretSource(env="SMTP_PASSWORD")


def test_bad_webhook_and_notification_entries_are_named():
    with pytest.raises(SettingsError) as excinfo:
        parse(
            file_data={
                "repo": REPO,
                "webhooks": [{"provider": "git/svn", "secretEnv": "X"}, {"provider": "*"}],
                "notifications": [
                    {"name": "a", "type": "slack", "url": "https://hooks.slack.com/x"},
                    {"name": "b", "type": "pager"},
                    {"name": "c", "type": "json", "url": "u", "events": ["lunch"]},
                ],
            }
        )
    problems = problems_of(excinfo)
    assert "c.yaml: webhooks[0].provider" in problems
    assert problems["c.yaml: webhooks[1]"] == "give secretEnv or secretFile"
    # A Slack URL carries its token: it may only come from a variable or a file.
    assert "c.yaml: notifications[0].url" in problems
    assert "c.yaml: notifications[1].type" in problems
    assert "c.yaml: notifications[2].events" in problems


def test_options_have_distinct_flags_variables_and_file_keys():
    for attribute in ("flag", "env", "file_key"):
        values = [getattr(option, attribute) for option in OPTIONS]
        assert len(values) == len(set(values)), attribute
    assert {o.name: o.file_key for o in OPTIONS}["health_timeout"] == "healthTimeout"


def test_the_settings_file_is_read_as_yaml(tmp_path):
    path = tmp_path / "conveyor.yaml"
    path.write_text(yaml.safe_dump({"repo": REPO, "syncInterval": "10s"}))
    settings = parse(file_data=read_settings_file(path))
    assert settings.sync_interval == 10.0
    (tmp_path / "empty.yaml").write_text("")
    assert read_settings_file(tmp_path / "empty.yaml") == {}


@pytest.mark.parametrize(("text", "message"), [("- a\n", "mapping"), ("a: [\n", "not YAML")])
def test_a_settings_file_that_is_not_a_mapping_is_refused(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(SettingsError, match=message):
        read_settings_file(path)
