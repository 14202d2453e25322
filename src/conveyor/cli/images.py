"""``conveyor images`` and ``conveyor automate``: image automation, one-shot, against a config repo.

``images`` plans without writing: every workload container (and setter-marked value) with its
current image, the tag its policy would choose and, with ``--explain``, why each newer-looking
candidate was rejected. ``automate`` does one automation run: one commit with every change, or
none. Registries, setter policies and commit settings come from ``--config``.

Secrets are never arguments: the git deploy key is a file, an HTTP password is read from the
environment variable ``--http-password-env`` names, registry credentials come from the docker
config or the variables the config names.

Exit codes: 0 when the run completed, 1 when some registry could not be scanned or some file
could not be read or edited (the rest was done), 2 when the run could not be done at all (bad
config or options, git or the metadata cache failing, or another conveyor process holding the
state directory).

A local run writes its state directory (the repo mirror, the metadata cache), so it holds that
directory's lock (:func:`conveyor.cli.repo_options.hold_state_dir`) while it runs: a daemon or
another local run on the same ``--state-dir`` makes it exit 2 at once, naming the holder's pid,
rather than race it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from conveyor.adapters.git import GitError
from conveyor.adapters.registry import RegistryError
from conveyor.adapters.store import MetadataCache, StoreError
from conveyor.cli.images_output import print_changes, print_images
from conveyor.cli.output_format import OutputFormat
from conveyor.cli.repo_options import (
    HttpPasswordEnvOption,
    HttpUserOption,
    KnownHostsOption,
    RepoOptions,
    SshKeyOption,
    TokenEnvOption,
    hold_state_dir,
)
from conveyor.core.config import AutomationConfig, ConfigError, parse_config_text
from conveyor.daemon.automation import AutomationResult, AutomationTarget, run_automation
from conveyor.daemon.automation_setup import AutomationSetupError, registry_client
from conveyor.daemon.jobs import RepoJobQueues

RepoOption = Annotated[
    str,
    typer.Option("--repo", help="Config repo: ssh://, https://, http://, file:// or a path."),
]
BranchOption = Annotated[str, typer.Option("--branch", help="Branch to read and commit to.")]
PathsOption = Annotated[
    list[str] | None,
    typer.Option("--path", help="Path in the repo to automate (repeatable; default: all)."),
]
ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="Automation config (YAML): registries, image policies, commits."),
]
InsecureOption = Annotated[
    list[str] | None,
    typer.Option("--insecure-registry", help="Registry host reached over plain http (repeatable)."),
]
StateDirOption = Annotated[
    Path | None,
    typer.Option(
        "--state-dir",
        envvar="CONVEYOR_STATE_DIR",
        help="Repo mirror and registry cache (default: ~/.cache/conveyor/automation).",
    ),
]
OutputOption = Annotated[OutputFormat, typer.Option("--output", "-o", help="Output format.")]

DEFAULT_STATE_DIR = Path("~/.cache/conveyor/automation")


def register(app: typer.Typer) -> None:
    app.command("images")(images_command)
    app.command("automate")(automate_command)


def images_command(
    repo: RepoOption,
    branch: BranchOption = "main",
    path: PathsOption = None,
    config: ConfigOption = None,
    explain: Annotated[
        bool, typer.Option("--explain", help="Say why each newer-looking tag was not chosen.")
    ] = False,
    ssh_key: SshKeyOption = None,
    known_hosts: KnownHostsOption = None,
    http_user: HttpUserOption = None,
    http_password_env: HttpPasswordEnvOption = None,
    token_env: TokenEnvOption = None,
    insecure_registry: InsecureOption = None,
    state_dir: StateDirOption = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """List every automated image, the tag its policy chooses, and why (nothing is written)."""
    options = RepoOptions(
        repo=repo,
        branch=branch,
        ssh_key=ssh_key,
        known_hosts=known_hosts,
        http_user=http_user,
        http_password_env=http_password_env,
        token_env=token_env,
    )
    target = _target(options, path)
    loaded = _config(config, insecure_registry)
    state = (state_dir or DEFAULT_STATE_DIR).expanduser()
    with hold_state_dir(state):
        result = _run(target, loaded, state, dry_run=True)
    print_images(result, output=output.value, explain=explain)
    _exit(result)


def automate_command(
    repo: RepoOption,
    branch: BranchOption = "main",
    path: PathsOption = None,
    config: ConfigOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Plan and show the changes; commit nothing.")
    ] = False,
    ssh_key: SshKeyOption = None,
    known_hosts: KnownHostsOption = None,
    http_user: HttpUserOption = None,
    http_password_env: HttpPasswordEnvOption = None,
    token_env: TokenEnvOption = None,
    insecure_registry: InsecureOption = None,
    state_dir: StateDirOption = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Do one automation run: scan, plan, and commit every image change in one commit."""
    options = RepoOptions(
        repo=repo,
        branch=branch,
        ssh_key=ssh_key,
        known_hosts=known_hosts,
        http_user=http_user,
        http_password_env=http_password_env,
        token_env=token_env,
    )
    target = _target(options, path)
    loaded = _config(config, insecure_registry)
    result = _run(target, loaded, state_dir, dry_run=dry_run)
    print_changes(result, output=output.value)
    _exit(result)


def _target(options: RepoOptions, paths: list[str] | None) -> AutomationTarget:
    remote = options.remote()
    try:
        return AutomationTarget(remote, options.branch, tuple(paths or ("",)))
    except ValueError as e:
        raise typer.BadParameter(str(e), param_hint="--path") from e


def _config(path: Path | None, insecure: list[str] | None) -> AutomationConfig:
    loaded = AutomationConfig()
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as e:
            typer.echo(f"error: cannot read the config {path}: {e.strerror}", err=True)
            raise typer.Exit(2) from e
        try:
            loaded = parse_config_text(text, source=str(path))
        except ConfigError as e:
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(2) from e
    return loaded.with_insecure_hosts(insecure or [])


def _run(
    target: AutomationTarget, config: AutomationConfig, state_dir: Path | None, *, dry_run: bool
) -> AutomationResult:
    state = (state_dir or DEFAULT_STATE_DIR).expanduser()

    async def main() -> AutomationResult:
        state.mkdir(parents=True, exist_ok=True)
        async with (
            registry_client(config) as registry,
            await MetadataCache.open(state / "registry-metadata.db") as cache,
            RepoJobQueues() as queues,
        ):
            return await run_automation(
                target,
                config=config,
                registry=registry,
                cache=cache,
                state_dir=state,
                queues=queues,
                dry_run=dry_run,
            )

    try:
        return asyncio.run(main())
    except (GitError, RegistryError, StoreError, AutomationSetupError, OSError) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from e


def _exit(result: AutomationResult) -> None:
    if not result.complete:
        raise typer.Exit(1)
