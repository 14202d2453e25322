"""From :class:`~conveyor.daemon.settings.DaemonSettings` to the objects the daemon runs with.

This is where the references to secrets are followed (environment variables read, files
opened) and where the settings meet the adapters: the git remote and its credentials, the
signature trust, the automation config, webhook secrets, notification targets, the API token,
and the defaults of leader election that depend on where the daemon runs.
Every failure is a :class:`SetupError` whose message names the setting to fix and never holds a
secret value. Secret values read here are handed to ``on_secret`` (the log redactor).
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from conveyor.adapters.git import (
    GpgKeyring,
    HttpAuth,
    Remote,
    RemoteConfigError,
    RemoteKind,
    SignatureTrust,
    SshAllowedSigners,
    SshAuth,
)
from conveyor.adapters.notify import (
    AppriseTarget,
    DiscordTarget,
    EmailTarget,
    JsonWebhookTarget,
    SlackTarget,
    Target,
    TeamsTarget,
)
from conveyor.core.config import AutomationConfig, ConfigError, parse_config_text
from conveyor.core.events import GitProvider, ImageProvider
from conveyor.core.leader import LeaderTimings
from conveyor.core.webhooks_verify import WebhookSecrets
from conveyor.daemon.runner_identity import IdentityError, ensure_identity
from conveyor.daemon.settings import DaemonSettings
from conveyor.daemon.settings_sources import NotificationSpec, SecretSource, WebhookSecretSpec

__all__ = [
    "API_TOKEN_FILE",
    "DEFAULT_LEASE_NAMESPACE",
    "LeaseSetup",
    "SecretReader",
    "SetupError",
    "api_token",
    "automation_config",
    "git_remote",
    "lease_setup",
    "notification_targets",
    "signature_trust",
    "ssh_key_path",
    "webhook_secrets",
]

API_TOKEN_FILE = "api-token"
DEFAULT_LEASE_NAMESPACE = "conveyor-system"
# Mounted into every pod that has a service account token: the pod's own namespace.
SERVICE_ACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


class SetupError(Exception):
    """The settings name something this machine does not have, or that cannot be used."""


class SecretReader:
    """Follows :class:`SecretSource` references; reports each value to ``on_secret``."""

    def __init__(
        self, environ: Mapping[str, str], *, on_secret: Callable[[str], None] | None = None
    ) -> None:
        self._environ = environ
        self._on_secret = on_secret

    def __repr__(self) -> str:
        return "SecretReader()"

    def read(self, source: SecretSource, *, what: str) -> str:
        if source.env is not None:
            value = self._environ.get(source.env, "")
            if not value:
                raise SetupError(f"{what}: the environment variable {source.env} is not set")
        else:
            assert source.file is not None
            try:
                value = source.file.read_text(encoding="utf-8").strip()
            except OSError as e:
                raise SetupError(f"{what}: cannot read {source.file}: {e.strerror}") from e
            if not value:
                raise SetupError(f"{what}: the file {source.file} is empty")
        if self._on_secret is not None:
            self._on_secret(value)
        return value


def api_token(settings: DaemonSettings, reader: SecretReader) -> str:
    """The configured API token, or one generated once into ``STATE_DIR/api-token`` (0600)."""
    if settings.api_token is not None:
        return reader.read(settings.api_token, what="the API token")
    path = settings.state_dir / API_TOKEN_FILE
    if not path.is_file():
        try:
            settings.state_dir.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(secrets.token_urlsafe(32) + "\n")
        except FileExistsError:
            pass  # another start raced us to it; read theirs
        except OSError as e:
            raise SetupError(f"cannot write a new API token to {path}: {e.strerror}") from e
    return reader.read(SecretSource(file=path), what="the generated API token")


def ssh_key_path(settings: DaemonSettings) -> Path:
    """The deploy key: the configured one, or the daemon's own (generated on first start)."""
    if settings.ssh_key is not None:
        return settings.ssh_key
    try:
        return ensure_identity(settings.identity_dir)
    except IdentityError as e:
        raise SetupError(str(e)) from e


def git_remote(settings: DaemonSettings, reader: SecretReader) -> Remote:
    """The config repo's remote with its credentials (SSH key, or HTTP user and password)."""
    try:
        bare = Remote.parse(settings.repo)
    except RemoteConfigError as e:
        raise SetupError(f"--repo: {e}") from e
    if bare.auth is not None:
        raise SetupError(
            "--repo: the URL carries a password; put it in an environment variable and set"
            " --http-user and --http-password-env"
        )
    if bare.kind is RemoteKind.SSH:
        if settings.known_hosts is None:
            raise SetupError(
                "--known-hosts is required for an SSH repo: the server's host key is always"
                " checked (get it with ssh-keyscan and verify it)"
            )
        auth: SshAuth | HttpAuth = SshAuth(ssh_key_path(settings), settings.known_hosts)
    elif settings.http_user is not None and settings.http_password_env is not None:
        password = reader.read(
            SecretSource(env=settings.http_password_env), what="--http-password-env"
        )
        auth = HttpAuth(settings.http_user, password)
    else:
        return bare
    try:
        return Remote.parse(settings.repo, auth=auth)
    except RemoteConfigError as e:
        raise SetupError(f"--repo: {e}") from e


def signature_trust(settings: DaemonSettings) -> SignatureTrust | None:
    if settings.allowed_signers is not None:
        if not settings.allowed_signers.is_file():
            raise SetupError(f"--allowed-signers: no such file {settings.allowed_signers}")
        return SshAllowedSigners(settings.allowed_signers)
    if settings.gpg_home is not None:
        if not settings.gpg_home.is_dir():
            raise SetupError(f"--gpg-home: no such directory {settings.gpg_home}")
        return GpgKeyring(settings.gpg_home)
    return None


def automation_config(settings: DaemonSettings) -> AutomationConfig:
    """The automation config file (or the empty config) with ``--insecure-registry`` added."""
    config = AutomationConfig()
    path = settings.automation_config
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as e:
            raise SetupError(f"--automation-config: cannot read {path}: {e.strerror}") from e
        try:
            config = parse_config_text(text, source=str(path))
        except ConfigError as e:
            raise SetupError(str(e)) from e
    return config.with_insecure_hosts(list(settings.insecure_registries))


def webhook_secrets(settings: DaemonSettings, reader: SecretReader) -> WebhookSecrets:
    """The secret of every provider some setting covers (most specific setting first)."""
    specs: Sequence[WebhookSecretSpec] = sorted(
        settings.webhook_secrets, key=lambda spec: spec.specificity(), reverse=True
    )
    values: dict[WebhookSecretSpec, str] = {}

    def pick(kind: str, provider: str) -> str | None:
        for spec in specs:
            if spec.matches(kind, provider):
                if spec not in values:
                    values[spec] = reader.read(spec.source, what=f"webhook secret {spec.provider}")
                return values[spec]
        return None

    git = {p: s for p in GitProvider if (s := pick("git", p.value)) is not None}
    image = {p: s for p in ImageProvider if (s := pick("image", p.value)) is not None}
    return WebhookSecrets(git=git, image=image)


@dataclass(frozen=True)
class LeaseSetup:
    """Where the election's Lease is and who this replica is in it."""

    namespace: str
    name: str
    identity: str
    timings: LeaderTimings


def lease_setup(
    settings: DaemonSettings,
    environ: Mapping[str, str],
    *,
    namespace_file: Path = SERVICE_ACCOUNT_NAMESPACE,
) -> LeaseSetup | None:
    """The Lease of ``--leader-election`` with its defaults filled in (None when it is off):
    the namespace is the pod's own (``POD_NAMESPACE`` from the downward API, or the service
    account's), else ``conveyor-system``; the identity is ``<hostname>_<pid>``."""
    spec = settings.leader_election
    if spec is None:
        return None
    namespace = spec.namespace or environ.get("POD_NAMESPACE", "").strip()
    if not namespace:
        try:
            namespace = namespace_file.read_text(encoding="utf-8").strip()
        except OSError:
            namespace = ""  # not in a pod
    # The pid tells apart two daemons on one machine; in a pod the hostname is the pod's name.
    identity = spec.identity or f"{socket.gethostname()}_{os.getpid()}"
    return LeaseSetup(
        namespace=namespace or DEFAULT_LEASE_NAMESPACE,
        name=spec.lease_name(settings.sync_name),
        identity=identity,
        timings=spec.timings,
    )


def notification_targets(settings: DaemonSettings, reader: SecretReader) -> list[Target]:
    return [_target(spec, reader) for spec in settings.notifications]


def _target(spec: NotificationSpec, reader: SecretReader) -> Target:
    what = f"notification target {spec.name}"
    url = spec.url or ""
    if spec.url_source is not None:
        url = reader.read(spec.url_source, what=what)
    name, events = spec.name, spec.events
    if spec.type == "slack":
        return SlackTarget(name=name, events=events, webhook_url=url)
    if spec.type == "teams":
        return TeamsTarget(name=name, events=events, workflow_url=url)
    if spec.type == "discord":
        return DiscordTarget(name=name, events=events, webhook_url=url)
    if spec.type == "apprise":
        return AppriseTarget(name=name, events=events, url=url)
    secret = reader.read(spec.secret, what=what) if spec.secret is not None else None
    if spec.type == "json":
        return JsonWebhookTarget(name=name, events=events, url=url, secret=secret)
    email = dict(spec.email or {})
    port = email.get("smtpPort")
    security = email.get("security", "starttls")
    if security not in ("starttls", "ssl", "none") or not isinstance(port, int | None):
        raise SetupError(f"{what}: smtpPort is a number, security is starttls, ssl or none")
    return EmailTarget(
        name=name,
        events=events,
        smtp_host=str(email.get("smtpHost")),
        sender=str(email.get("sender")),
        recipients=tuple(str(r) for r in email.get("recipients") or ()),
        smtp_port=port,
        security=security,
        username=email.get("username"),
        password=secret,
    )
