"""The settings that are more than one plain value: secrets, notifications, leader election.

A secret is always given by reference, as the name of an environment variable (``...Env``) or
a file (``...File``), never inline; :class:`SecretSource` is that reference. Reading these
sections is pure: problems go into the caller's list, each under its key path, and no problem
quotes a value::

    webhooks:
      - {provider: "*", secretFile: /etc/conveyor/webhook-secret}     # every provider
      - {provider: git/github, secretEnv: GITHUB_WEBHOOK_SECRET}      # or git/*, image/*
      - {provider: image/dockerhub, secretEnv: DOCKERHUB_PATH_TOKEN}
    notifications:
      - {name: ops, type: slack, urlEnv: SLACK_URL, events: [rollback, auto_rollback]}
      - {name: ci, type: json, url: "https://ci.example.com/hook", secretEnv: HOOK_SECRET}
      - name: mail
        type: email
        smtpHost: smtp.example.com
        sender: conveyor@example.com
        recipients: [oncall@example.com]
        username: conveyor
        passwordEnv: SMTP_PASSWORD

Types are ``slack``, ``teams``, ``discord``, ``apprise`` (their URLs carry tokens, so only
``urlEnv``/``urlFile``), ``json`` (``url`` may be written out) and ``email``. Events are those
of :class:`~conveyor.adapters.notify.NotificationEvent`; none listed means all of them.

Leader election is a group of plain options (``leaderElection``, ``leaderElectionName``,
``leaderElectionNamespace``, ``leaderElectionIdentity``, ``leaseDuration``,
``leaseRenewDeadline``, ``leaseRetryPeriod``, or their flags and variables) that
:func:`read_leader_election` turns into one :class:`LeaderElectionSpec`, checking that the
durations keep a leader's work from overlapping its successor's (see ``conveyor.core.leader``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conveyor.adapters.notify import NotificationEvent
from conveyor.core.config_reader import ConfigProblem, kind_of
from conveyor.core.events import GitProvider, ImageProvider
from conveyor.core.leader import LeaderTimings

__all__ = [
    "LEADER_ELECTION_OPTIONS",
    "NOTIFICATION_TYPES",
    "LeaderElectionSpec",
    "NotificationSpec",
    "SecretSource",
    "WebhookSecretSpec",
    "read_leader_election",
    "read_notifications",
    "read_webhook_secrets",
]

NOTIFICATION_TYPES = ("slack", "teams", "discord", "apprise", "json", "email")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# A Lease's name is a DNS subdomain, its namespace a DNS label.
_LEASE_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
_NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
LEADER_ELECTION_OPTIONS = (
    "leader_election",
    "leader_election_name",
    "leader_election_namespace",
    "leader_election_identity",
    "lease_duration",
    "lease_renew_deadline",
    "lease_retry_period",
)
_EMAIL_KEYS = {"smtpHost", "smtpPort", "security", "sender", "recipients", "username"}


@dataclass(frozen=True)
class SecretSource:
    """Where a secret is: the environment variable ``env`` or the file ``file`` (one of them)."""

    env: str | None = None
    file: Path | None = None

    def __post_init__(self) -> None:
        if (self.env is None) == (self.file is None):
            raise ValueError("a secret source is either an environment variable or a file")

    def __str__(self) -> str:
        return f"environment variable {self.env}" if self.env else f"file {self.file}"


@dataclass(frozen=True)
class WebhookSecretSpec:
    """The secret of one webhook provider (``git/github``), a kind (``image/*``) or all (``*``).

    When several match a provider, the most specific wins.
    """

    provider: str
    source: SecretSource

    def specificity(self) -> int:
        return 0 if self.provider == "*" else 1 if self.provider.endswith("/*") else 2

    def matches(self, kind: str, provider: str) -> bool:
        return self.provider in ("*", f"{kind}/*", f"{kind}/{provider}")


@dataclass(frozen=True)
class NotificationSpec:
    """A notification target as configured; the runner turns it into the notify adapter's."""

    name: str
    type: str
    events: frozenset[NotificationEvent]
    url: str | None = None
    url_source: SecretSource | None = None
    secret: SecretSource | None = None
    """json: the HMAC key for ``X-Conveyor-Signature``; email: the SMTP password."""
    email: Mapping[str, Any] | None = None
    """email: smtpHost, smtpPort, security, sender, recipients, username as written."""


@dataclass(frozen=True)
class LeaderElectionSpec:
    """Leader election as configured; the runner fills in the defaults that need the machine."""

    timings: LeaderTimings = field(default_factory=LeaderTimings)
    name: str | None = None
    """The Lease's name. None: ``conveyor-leader-<sync name>``."""
    namespace: str | None = None
    """None: the namespace of the pod conveyor runs in, else ``conveyor-system``."""
    identity: str | None = None
    """None: ``<hostname>_<pid>`` (in a pod, the hostname is the pod's name)."""

    def lease_name(self, sync_name: str) -> str:
        return self.name or f"conveyor-leader-{sync_name}"


def read_leader_election(
    values: dict[str, Any], *, where: Callable[[str], str], problems: list[ConfigProblem]
) -> LeaderElectionSpec | None:
    """Take the leader-election options out of ``values`` (as parsed, by option name) and make
    the spec: None when ``leader_election`` is not on. ``where`` names an option in problems."""
    given = {name: values.pop(name) for name in LEADER_ELECTION_OPTIONS if name in values}
    if not given.pop("leader_election", False):
        return None
    name, namespace = given.get("leader_election_name"), given.get("leader_election_namespace")
    if name is not None and not _LEASE_NAME.match(name):
        problems.append(
            ConfigProblem(where("leader_election_name"), "expected a lowercase DNS name")
        )
    if namespace is not None and not _NAMESPACE.match(namespace):
        problems.append(
            ConfigProblem(where("leader_election_namespace"), "expected a namespace name")
        )
    defaults = LeaderTimings()
    try:
        timings = LeaderTimings(
            lease_duration=given.get("lease_duration", defaults.lease_duration),
            renew_deadline=given.get("lease_renew_deadline", defaults.renew_deadline),
            retry_period=given.get("lease_retry_period", defaults.retry_period),
        )
    except ValueError as e:
        problems.append(ConfigProblem(where("lease_duration"), str(e)))
        timings = defaults
    return LeaderElectionSpec(
        timings=timings,
        name=name,
        namespace=namespace,
        identity=given.get("leader_election_identity"),
    )


def read_webhook_secrets(
    node: object, file_name: str, problems: list[ConfigProblem]
) -> tuple[WebhookSecretSpec, ...]:
    known = {"*", "git/*", "image/*"}
    known |= {f"git/{p.value}" for p in GitProvider} | {f"image/{p.value}" for p in ImageProvider}
    specs = []
    for where, entry in _entries(node, f"{file_name}: webhooks", problems):
        _known_keys(entry, where, {"provider", "secretEnv", "secretFile"}, problems)
        provider = entry.get("provider")
        if provider not in known:
            problems.append(
                ConfigProblem(f"{where}.provider", f"expected one of {', '.join(sorted(known))}")
            )
            continue
        source = _secret(entry, "secret", where, problems, required=True)
        if source is not None:
            specs.append(WebhookSecretSpec(str(provider), source))
    return tuple(specs)


def read_notifications(
    node: object, file_name: str, problems: list[ConfigProblem]
) -> tuple[NotificationSpec, ...]:
    specs = []
    names: set[str] = set()
    for where, entry in _entries(node, f"{file_name}: notifications", problems):
        kind = entry.get("type")
        if kind not in NOTIFICATION_TYPES:
            problems.append(
                ConfigProblem(f"{where}.type", f"expected one of {', '.join(NOTIFICATION_TYPES)}")
            )
            continue
        allowed = {"name", "type", "events", "urlEnv", "urlFile"}
        allowed |= {"url", "secretEnv", "secretFile"} if kind == "json" else set()
        allowed |= _EMAIL_KEYS | {"passwordEnv", "passwordFile"} if kind == "email" else set()
        _known_keys(entry, where, allowed, problems)
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip() or name in names:
            problems.append(ConfigProblem(f"{where}.name", "give each target a unique name"))
            continue
        names.add(name)
        events = _events(entry.get("events"), f"{where}.events", problems)
        if kind == "email":
            specs.append(_email(entry, name, events, where, problems))
            continue
        url = entry.get("url") if kind == "json" else None
        url_source = _secret(entry, "url", where, problems, required=url is None)
        secret = _secret(entry, "secret", where, problems, required=False)
        specs.append(
            NotificationSpec(name, str(kind), events, url=url, url_source=url_source, secret=secret)
        )
    return tuple(specs)


def _email(
    entry: Mapping[str, Any],
    name: str,
    events: frozenset[NotificationEvent],
    where: str,
    problems: list[ConfigProblem],
) -> NotificationSpec:
    for key in ("smtpHost", "sender"):
        if not isinstance(entry.get(key), str):
            problems.append(ConfigProblem(f"{where}.{key}", "is required (text)"))
    recipients = entry.get("recipients")
    if not isinstance(recipients, list) or not all(isinstance(r, str) for r in recipients):
        problems.append(ConfigProblem(f"{where}.recipients", "expected a list of addresses"))
    password = _secret(entry, "password", where, problems, required=False)
    details = {key: entry[key] for key in _EMAIL_KEYS if key in entry}
    return NotificationSpec(name, "email", events, secret=password, email=details)


def _entries(
    node: object, path: str, problems: list[ConfigProblem]
) -> list[tuple[str, Mapping[str, Any]]]:
    if node is None:
        return []
    if not isinstance(node, list):
        problems.append(ConfigProblem(path, f"expected a list, got {kind_of(node)}"))
        return []
    found: list[tuple[str, Mapping[str, Any]]] = []
    for index, item in enumerate(node):
        if isinstance(item, Mapping):
            found.append((f"{path}[{index}]", {str(k): v for k, v in item.items()}))
        else:
            problems.append(
                ConfigProblem(f"{path}[{index}]", f"expected a mapping, got {kind_of(item)}")
            )
    return found


def _known_keys(
    entry: Mapping[str, Any], where: str, allowed: set[str], problems: list[ConfigProblem]
) -> None:
    for key in entry:
        if key not in allowed:
            problems.append(
                ConfigProblem(f"{where}.{key}", f"unknown key; use {', '.join(sorted(allowed))}")
            )


def _secret(
    entry: Mapping[str, Any],
    prefix: str,
    where: str,
    problems: list[ConfigProblem],
    *,
    required: bool,
) -> SecretSource | None:
    env, file = entry.get(f"{prefix}Env"), entry.get(f"{prefix}File")
    if env is not None and file is not None:
        problems.append(
            ConfigProblem(f"{where}.{prefix}Env", f"give {prefix}Env or {prefix}File, not both")
        )
        return None
    if env is not None:
        if isinstance(env, str) and _ENV_NAME.match(env):
            return SecretSource(env=env)
        problems.append(
            ConfigProblem(f"{where}.{prefix}Env", "expected an environment variable name")
        )
        return None
    if file is not None:
        if isinstance(file, str) and file.strip():
            return SecretSource(file=Path(file).expanduser())
        problems.append(
            ConfigProblem(f"{where}.{prefix}File", f"expected a path, got {kind_of(file)}")
        )
        return None
    if required:
        problems.append(ConfigProblem(where, f"give {prefix}Env or {prefix}File"))
    return None


def _events(
    node: object, where: str, problems: list[ConfigProblem]
) -> frozenset[NotificationEvent]:
    if node is None:
        return frozenset(NotificationEvent)
    known = {event.value: event for event in NotificationEvent}
    if not isinstance(node, list) or not node or not all(item in known for item in node):
        problems.append(ConfigProblem(where, f"expected a list of {', '.join(known)}"))
        return frozenset(NotificationEvent)
    return frozenset(known[item] for item in node)
