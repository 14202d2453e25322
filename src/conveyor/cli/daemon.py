"""``conveyor daemon``: run the release manager (sync, automation, job queue, HTTP API).

Every option can also be set by a ``CONVEYOR_*`` environment variable or a key of the settings
file (``--config-file``); a flag beats a variable, which beats the file. See
``conveyor.daemon.settings`` for the file's format, including webhook secrets and notification
targets, which only the file can describe.

Exit codes: 0 after a clean shutdown (SIGTERM, SIGINT), 2 when the settings are wrong or
something the daemon needs (kubeconfig, state directory, port) cannot be used, including when
another conveyor process holds the state directory (``STATE_DIR/lock`` names its pid).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from conveyor.adapters.kube import KubeError
from conveyor.adapters.notify import NotifyError
from conveyor.adapters.store import StateDirLock, StoreError
from conveyor.api.app import create_app
from conveyor.daemon.logging import configure_logging
from conveyor.daemon.runner import SetupError, run_daemon
from conveyor.daemon.settings import (
    OPTIONS,
    SettingsError,
    parse_settings,
    read_settings_file,
)

_HELP = {
    "repo": "Config repo URL: ssh://, https://, file:// or a path. Required.",
    "branch": "Branch to sync and commit to. Default: main.",
    "paths": (
        "Path in the repo to sync and automate; repeatable (env: comma-separated). "
        "Default: the whole repo."
    ),
    "ssh_key": (
        "Deploy key for an SSH repo. Default: a key generated in STATE_DIR/identity "
        "(see GET /api/v1/identity)."
    ),
    "known_hosts": "known_hosts file pinning the SSH server's host key. Required for SSH repos.",
    "http_user": "User for an HTTP(S) repo.",
    "http_password_env": "Name of the variable holding the HTTP password or token.",
    "allowed_signers": "Apply only heads signed by a key in this ssh allowed_signers file.",
    "gpg_home": "Apply only heads signed by a key in this GnuPG keyring.",
    "kubeconfig": (
        "kubeconfig. Default: $KUBECONFIG, ~/.kube/config, or in-cluster when run in a pod."
    ),
    "kube_context": "kubeconfig context.",
    "state_dir": (
        "Mirrors, SQLite registry cache, generated key and token. Default: "
        "~/.cache/conveyor/daemon."
    ),
    "sync_name": "Name keying the sync's inventory in the cluster. Default: default.",
    "sync_interval": (
        "Fetch and apply every so often (30s, 5m, 1h); git webhooks sync at once. Default: 60s."
    ),
    "scan_interval": (
        "Scan registries and run automation every so often; image webhooks run it at "
        "once. Default: 5m."
    ),
    "health_timeout": "How long a sync waits for workloads to become healthy. Default: 2m.",
    "prune": "Delete objects that left the repo. Default: on.",
    "automation": "Run image automation. Default: on.",
    "automation_config": "Automation config: registries, credentials, image policies, commits.",
    "insecure_registries": "Registry host reached over plain HTTP; repeatable (env: a,b).",
    "listen": (
        "API address HOST:PORT (:PORT for all interfaces, port 0 for any free one). "
        "Default: 127.0.0.1:8080."
    ),
    "api_token_file": (
        "File holding the API bearer token (or set CONVEYOR_API_TOKEN to the token "
        "itself). Default: generated into STATE_DIR/api-token."
    ),
    "webhook_secret_file": (
        "File holding the secret every webhook provider signs with (or set "
        "CONVEYOR_WEBHOOK_SECRET). With no secret at all, webhooks are off."
    ),
    "log_level": "debug, info, warning or error. Default: info.",
    "log_format": "json (one object per line) or console. Default: json.",
    "leader_election": (
        "Run as one of several replicas: only the holder of a Lease syncs, automates and"
        " writes; the others serve reads and answer writes with 503. Default: off."
    ),
    "leader_election_name": "The Lease's name. Default: conveyor-leader-SYNC_NAME.",
    "leader_election_namespace": (
        "The Lease's namespace. Default: the pod's own namespace in a cluster, else"
        " conveyor-system."
    ),
    "leader_election_identity": (
        "This replica's name in the Lease; never the same for two live replicas. Default:"
        " HOSTNAME_PID."
    ),
    "lease_duration": "How long followers wait before taking over a lease. Default: 15s.",
    "lease_renew_deadline": (
        "How long the leader retries renewing before it stops leading. Default: 10s."
    ),
    "lease_retry_period": "How often the lease is renewed or tried. Default: 2s.",
}
_OPTIONS = {option.name: option for option in OPTIONS}


def _opt(name: str) -> Any:
    """The typer option for setting ``name``: its flag(s), and help naming its variable."""
    option = _OPTIONS[name]
    flag = f"{option.flag}/--no-{option.flag[2:]}" if option.kind == "bool" else option.flag
    return typer.Option(flag, help=f"{_HELP[name]} (env {option.env})", show_default=False)


def register(app: typer.Typer) -> None:
    app.command("daemon")(daemon_command)


def daemon_command(
    config_file: Annotated[
        Path | None,
        typer.Option(
            "--config-file",
            envvar="CONVEYOR_CONFIG_FILE",
            help="YAML settings file; its keys are the camelCase of these options, plus"
            " `webhooks` and `notifications`.",
        ),
    ] = None,
    repo: Annotated[str | None, _opt("repo")] = None,
    branch: Annotated[str | None, _opt("branch")] = None,
    paths: Annotated[list[str] | None, _opt("paths")] = None,
    ssh_key: Annotated[Path | None, _opt("ssh_key")] = None,
    known_hosts: Annotated[Path | None, _opt("known_hosts")] = None,
    http_user: Annotated[str | None, _opt("http_user")] = None,
    http_password_env: Annotated[str | None, _opt("http_password_env")] = None,
    allowed_signers: Annotated[Path | None, _opt("allowed_signers")] = None,
    gpg_home: Annotated[Path | None, _opt("gpg_home")] = None,
    kubeconfig: Annotated[Path | None, _opt("kubeconfig")] = None,
    kube_context: Annotated[str | None, _opt("kube_context")] = None,
    state_dir: Annotated[Path | None, _opt("state_dir")] = None,
    sync_name: Annotated[str | None, _opt("sync_name")] = None,
    sync_interval: Annotated[str | None, _opt("sync_interval")] = None,
    scan_interval: Annotated[str | None, _opt("scan_interval")] = None,
    health_timeout: Annotated[str | None, _opt("health_timeout")] = None,
    prune: Annotated[bool | None, _opt("prune")] = None,
    automation: Annotated[bool | None, _opt("automation")] = None,
    automation_config: Annotated[Path | None, _opt("automation_config")] = None,
    insecure_registries: Annotated[list[str] | None, _opt("insecure_registries")] = None,
    listen: Annotated[str | None, _opt("listen")] = None,
    api_token_file: Annotated[Path | None, _opt("api_token_file")] = None,
    webhook_secret_file: Annotated[Path | None, _opt("webhook_secret_file")] = None,
    log_level: Annotated[str | None, _opt("log_level")] = None,
    log_format: Annotated[str | None, _opt("log_format")] = None,
    leader_election: Annotated[bool | None, _opt("leader_election")] = None,
    leader_election_name: Annotated[str | None, _opt("leader_election_name")] = None,
    leader_election_namespace: Annotated[str | None, _opt("leader_election_namespace")] = None,
    leader_election_identity: Annotated[str | None, _opt("leader_election_identity")] = None,
    lease_duration: Annotated[str | None, _opt("lease_duration")] = None,
    lease_renew_deadline: Annotated[str | None, _opt("lease_renew_deadline")] = None,
    lease_retry_period: Annotated[str | None, _opt("lease_retry_period")] = None,
) -> None:
    """Run the release manager: sync the config repo to the cluster, automate image updates,
    and serve the HTTP API (with webhooks and metrics) until SIGTERM or SIGINT."""
    flags = {
        name: value
        for name, value in locals().items()
        if name not in ("config_file",) and value is not None
    }
    try:
        file_data = read_settings_file(config_file) if config_file is not None else None
        settings = parse_settings(
            flags=flags,
            environ=os.environ,
            file_data=file_data,
            file_name=str(config_file),
            home=Path.home(),
        )
    except SettingsError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from e
    try:
        # Before anything touches the state directory: its mirrors and SQLite files are ours.
        lock = StateDirLock.acquire(settings.state_dir)
    except StoreError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from e
    redactor = configure_logging(
        level=settings.log_level, json_format=settings.log_format == "json"
    )
    try:
        with lock:
            asyncio.run(
                run_daemon(
                    settings, create_app=create_app, environ=os.environ, on_secret=redactor.add
                )
            )
    except (SetupError, KubeError, StoreError, NotifyError, OSError) as e:
        typer.echo(f"error: {redactor.redact(str(e))}", err=True)
        raise typer.Exit(2) from e
