"""The daemon's configuration: command-line flags, ``CONVEYOR_*`` variables and a YAML file.

Each setting is looked up in that order (a flag beats a variable, which beats the file) and
falls back to its default. :func:`parse_settings` is pure: it takes what the flags, the
environment and the file said and returns :class:`DaemonSettings`, or raises
:class:`SettingsError` listing every problem at once, each naming where the value came from
(``--sync-interval``, ``CONVEYOR_SYNC_INTERVAL``, ``conveyor.yaml: syncInterval``).

Secrets are never settings values. They come from files or from environment variables whose
*names* are settings (``httpPasswordEnv``), except two variables that hold a secret themselves
so that a container can be configured without files: ``CONVEYOR_API_TOKEN`` and
``CONVEYOR_WEBHOOK_SECRET``. No problem message ever quotes a value it was given.

The file (every key optional)::

    repo: ssh://git@git.example.com/org/config.git
    branch: main
    paths: [clusters/prod]
    sshKey: /etc/conveyor/deploy-key          # default: STATE_DIR/identity/id_ed25519
    knownHosts: /etc/conveyor/known_hosts
    stateDir: /var/lib/conveyor
    syncInterval: 1m                          # seconds, or 30s / 5m / 1h
    scanInterval: 5m
    listen: 0.0.0.0:8080
    apiTokenFile: /etc/conveyor/api-token
    leaderElection: true                      # replicas elect one leader (see settings_sources)
    automationConfig: /etc/conveyor/automation.yaml
    webhooks:                                 # see settings_sources
      - {provider: image/generic, secretEnv: CI_WEBHOOK_SECRET}
    notifications:
      - {name: team, type: slack, urlEnv: SLACK_WEBHOOK_URL, events: [release, rollback]}
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from conveyor.core.config_reader import ConfigProblem, kind_of
from conveyor.daemon.settings_sources import (
    LeaderElectionSpec,
    NotificationSpec,
    SecretSource,
    WebhookSecretSpec,
    read_leader_election,
    read_notifications,
    read_webhook_secrets,
)
from conveyor.daemon.settings_values import (
    DEFAULT_LISTEN,
    Kind,
    ListenAddress,
    convert_value,
    parse_duration,
    parse_listen,
)

__all__ = [
    "API_TOKEN_ENV",
    "OPTIONS",
    "WEBHOOK_SECRET_ENV",
    "DaemonSettings",
    "ListenAddress",
    "Option",
    "SettingsError",
    "parse_duration",
    "parse_listen",
    "parse_settings",
    "read_settings_file",
]

API_TOKEN_ENV = "CONVEYOR_API_TOKEN"
"""Holds the API token itself (for containers); ``--api-token-file`` is the other way."""
WEBHOOK_SECRET_ENV = "CONVEYOR_WEBHOOK_SECRET"
"""Holds one secret for every webhook provider."""

LogFormat = Literal["json", "console"]

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SYNC_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$")


class SettingsError(ValueError):
    """Settings that cannot be used; ``problems`` names each source and what is wrong."""

    def __init__(self, problems: Sequence[ConfigProblem]) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"  {problem}" for problem in self.problems)
        count = len(self.problems)
        super().__init__(f"{count} problem{'s' if count != 1 else ''} in the settings:\n{lines}")


@dataclass(frozen=True)
class Option:
    """One plain setting: its field, its file key, its variable, and how to read it."""

    name: str
    file_key: str
    env: str
    kind: Kind

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


def _option(name: str, kind: Kind) -> Option:
    head, *rest = name.split("_")
    return Option(name, head + "".join(p.title() for p in rest), f"CONVEYOR_{name.upper()}", kind)


_OPTION_KINDS: tuple[tuple[str, Kind], ...] = (
    ("repo", "text"),
    ("branch", "text"),
    ("paths", "list"),
    ("ssh_key", "path"),
    ("known_hosts", "path"),
    ("http_user", "text"),
    ("http_password_env", "text"),
    ("allowed_signers", "path"),
    ("gpg_home", "path"),
    ("kubeconfig", "path"),
    ("kube_context", "text"),
    ("state_dir", "path"),
    ("sync_name", "text"),
    ("sync_interval", "seconds"),
    ("scan_interval", "seconds"),
    ("health_timeout", "seconds"),
    ("prune", "bool"),
    ("automation", "bool"),
    ("automation_config", "path"),
    ("insecure_registries", "list"),
    ("listen", "listen"),
    ("api_token_file", "path"),
    ("webhook_secret_file", "path"),
    ("log_level", "level"),
    ("log_format", "format"),
    ("leader_election", "bool"),
    ("leader_election_name", "text"),
    ("leader_election_namespace", "text"),
    ("leader_election_identity", "text"),
    ("lease_duration", "seconds"),
    ("lease_renew_deadline", "seconds"),
    ("lease_retry_period", "seconds"),
)
OPTIONS: tuple[Option, ...] = tuple(_option(name, kind) for name, kind in _OPTION_KINDS)
_BY_NAME = {option.name: option for option in OPTIONS}
_FILE_KEYS = {option.file_key for option in OPTIONS} | {"webhooks", "notifications"}


@dataclass(frozen=True)
class DaemonSettings:
    """Everything ``conveyor daemon`` needs to know, validated; secrets only by reference."""

    repo: str
    state_dir: Path
    branch: str = "main"
    paths: tuple[str, ...] = (".",)
    ssh_key: Path | None = None
    """None for an SSH repo: the key generated in ``identity_dir`` (see ``/api/v1/identity``)."""
    known_hosts: Path | None = None
    http_user: str | None = None
    http_password_env: str | None = None
    allowed_signers: Path | None = None
    gpg_home: Path | None = None
    kubeconfig: Path | None = None
    """None: $KUBECONFIG, ~/.kube/config, or the in-cluster service account."""
    kube_context: str | None = None
    sync_name: str = "default"
    sync_interval: float = 60.0
    scan_interval: float = 300.0
    health_timeout: float = 120.0
    prune: bool = True
    automation: bool = True
    automation_config: Path | None = None
    insecure_registries: tuple[str, ...] = ()
    listen: ListenAddress = DEFAULT_LISTEN
    api_token: SecretSource | None = None
    """None: a token generated once into ``state_dir/api-token``."""
    webhook_secrets: tuple[WebhookSecretSpec, ...] = ()
    """Empty: every webhook route answers 404 (webhooks off)."""
    notifications: tuple[NotificationSpec, ...] = ()
    log_level: str = "info"
    log_format: LogFormat = "json"
    leader_election: LeaderElectionSpec | None = None
    """None: this process always does the leader's work (one replica only)."""

    @property
    def identity_dir(self) -> Path:
        return self.state_dir / "identity"

    @property
    def verify_signatures(self) -> bool:
        return self.allowed_signers is not None or self.gpg_home is not None


def read_settings_file(path: Path) -> Mapping[str, Any]:
    """The settings file as loaded YAML (empty file: no settings); SettingsError otherwise."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        problem = ConfigProblem(str(path), f"cannot be read: {e.strerror}")
        raise SettingsError([problem]) from e
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "the file"
        raise SettingsError([ConfigProblem(str(path), f"not YAML at {where}")]) from e
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise SettingsError([ConfigProblem(str(path), f"expected a mapping, got {kind_of(data)}")])
    return {str(key): value for key, value in data.items()}


def parse_settings(
    *,
    flags: Mapping[str, object],
    environ: Mapping[str, str],
    file_data: Mapping[str, Any] | None = None,
    file_name: str = "settings file",
    home: Path,
) -> DaemonSettings:
    """Settings from ``flags`` (field name -> value given; None or absent means not given),
    ``environ`` and ``file_data``, in that order of precedence. ``home`` anchors defaults."""
    problems: list[ConfigProblem] = []
    data = dict(file_data or {})
    for key in data:
        if key not in _FILE_KEYS:
            problems.append(ConfigProblem(f"{file_name}: {key}", "unknown key"))
    values: dict[str, Any] = {}
    for option in OPTIONS:
        found = _lookup(option, flags, environ, data, file_name)
        if found is None:
            continue
        where, raw = found
        try:
            values[option.name] = convert_value(option.kind, raw)
        except ValueError as e:
            problems.append(ConfigProblem(where, str(e)))
    webhook_secrets = list(read_webhook_secrets(data.get("webhooks"), file_name, problems))
    if "webhook_secret_file" in values:
        webhook_secrets.append(
            WebhookSecretSpec("*", SecretSource(file=values.pop("webhook_secret_file")))
        )
    if environ.get(WEBHOOK_SECRET_ENV):
        webhook_secrets.append(WebhookSecretSpec("*", SecretSource(env=WEBHOOK_SECRET_ENV)))
    notifications = read_notifications(data.get("notifications"), file_name, problems)
    api_token = _api_token(values.pop("api_token_file", None), environ)
    leader_election = read_leader_election(values, where=_where, problems=problems)
    values.setdefault("state_dir", home / ".cache" / "conveyor" / "daemon")
    _check(values, problems)
    if problems:
        raise SettingsError(problems)
    return DaemonSettings(
        **values,
        api_token=api_token,
        webhook_secrets=tuple(webhook_secrets),
        notifications=notifications,
        leader_election=leader_election,
    )


def _lookup(
    option: Option,
    flags: Mapping[str, object],
    environ: Mapping[str, str],
    data: Mapping[str, Any],
    file_name: str,
) -> tuple[str, object] | None:
    flag = flags.get(option.name)
    if flag is not None and flag != [] and flag != ():
        return option.flag, flag
    if environ.get(option.env, "") != "":
        return option.env, environ[option.env]
    if data.get(option.file_key) is not None:
        return f"{file_name}: {option.file_key}", data[option.file_key]
    return None


def _api_token(file: Path | None, environ: Mapping[str, str]) -> SecretSource | None:
    if file is not None:
        return SecretSource(file=file)
    if environ.get(API_TOKEN_ENV):
        return SecretSource(env=API_TOKEN_ENV)
    return None


def _check(values: dict[str, Any], problems: list[ConfigProblem]) -> None:
    """Rules across settings (each problem is named after the setting to change)."""
    if "repo" not in values:
        problems.append(ConfigProblem(_where("repo"), "is required: the config repo to sync"))
    if ("http_user" in values) != ("http_password_env" in values):
        problems.append(
            ConfigProblem(_where("http_user"), "give both --http-user and --http-password-env")
        )
    env_name = values.get("http_password_env")
    if env_name is not None and not _ENV_NAME.match(env_name):
        problems.append(
            ConfigProblem(_where("http_password_env"), "expected an environment variable name")
        )
    if "ssh_key" in values and "http_user" in values:
        problems.append(
            ConfigProblem(_where("ssh_key"), "--ssh-key and --http-user exclude each other")
        )
    if "allowed_signers" in values and "gpg_home" in values:
        problems.append(
            ConfigProblem(
                _where("allowed_signers"), "trust SSH signers or a GnuPG keyring, not both"
            )
        )
    if "sync_name" in values and not _SYNC_NAME.match(values["sync_name"]):
        problems.append(
            ConfigProblem(_where("sync_name"), "use 1-40 lowercase letters, digits and dashes")
        )


def _where(name: str) -> str:
    option = _BY_NAME[name]
    return f"{option.flag} / {option.env} / {option.file_key}"
