"""``conveyor sync``, ``conveyor diff`` and ``conveyor status``: one-shot, against a kubeconfig.

``sync`` and ``diff`` read either a checked-out TREE or, with ``--repo``, a branch of a config repo
(fetched into a local mirror, its head optionally required to carry a trusted signature).

Exit codes: 0 when everything applied (or nothing differs, for ``diff``), 1 when some objects
failed, the head was refused (or ``diff`` found differences), 2 when the cluster or the repo could
not be used at all, or another conveyor process holds the state directory.

With ``--repo`` the mirror and the exported trees are written under ``--state-dir``, so the run
holds that directory's lock (:func:`conveyor.cli.repo_options.hold_state_dir`) from the first
fetch to the end of the sync, like a local ``conveyor automate --repo``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
import yaml

from conveyor.adapters.git import GitError
from conveyor.adapters.kube import KubeClient, KubeError, RetryPolicy
from conveyor.cli.output_format import OutputFormat
from conveyor.cli.repo_options import (
    AllowedSignersOption,
    BranchOption,
    GpgHomeOption,
    HttpPasswordEnvOption,
    HttpUserOption,
    KnownHostsOption,
    RepoOption,
    RepoOptions,
    SshKeyOption,
    StateDirOption,
    TokenEnvOption,
    VerifyOption,
    hold_state_dir,
)
from conveyor.cli.sync_daemon import DaemonUrlOption, daemon_status, daemon_sync
from conveyor.cli.verbs_session import TokenOption
from conveyor.core.sync.record import Action, Outcome, SyncMarker
from conveyor.core.sync.refusal import describe
from conveyor.daemon.sync import SyncSettings, SyncSource, read_status, sync_once

T = TypeVar("T")


KubeconfigOption = Annotated[
    Path | None,
    typer.Option("--kubeconfig", help="kubeconfig to use (default: $KUBECONFIG, ~/.kube/config)."),
]
ContextOption = Annotated[str | None, typer.Option("--context", help="kubeconfig context.")]
NameOption = Annotated[
    str, typer.Option("--name", help="Name of the sync; keys its inventory in the cluster.")
]
OutputOption = Annotated[OutputFormat, typer.Option("--output", "-o", help="Output format.")]
PathsOption = Annotated[
    list[str] | None,
    typer.Option("--path", help="Path inside the tree to sync (repeatable; default: all)."),
]
TreeArgument = Annotated[
    Path | None,
    typer.Argument(help="A checked-out config repo (directory); or give --repo instead."),
]
RevisionOption = Annotated[
    str | None,
    typer.Option("--revision", help="The revision TREE holds (recorded in the marker)."),
]
RetryOption = Annotated[
    float,
    typer.Option(
        "--retry-deadline",
        envvar="CONVEYOR_KUBE_RETRY_SECONDS",
        help="Seconds to keep retrying an unreachable apiserver.",
    ),
]
KustomizeOption = Annotated[
    Path | None, typer.Option("--kustomize", help="kustomize binary (default: found on PATH).")
]


def register(app: typer.Typer) -> None:
    app.command("sync")(sync_command)
    app.command("diff")(diff_command)
    app.command("status")(status_command)


def sync_command(
    tree: TreeArgument = None,
    repo: RepoOption = None,
    branch: BranchOption = "main",
    revision: RevisionOption = None,
    path: PathsOption = None,
    name: NameOption = "default",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would change.")] = False,
    prune: Annotated[bool, typer.Option("--prune/--no-prune", help="Delete what left.")] = True,
    health_timeout: Annotated[
        float, typer.Option("--health-timeout", help="Seconds to wait for health (0: don't).")
    ] = 120.0,
    ssh_key: SshKeyOption = None,
    known_hosts: KnownHostsOption = None,
    http_user: HttpUserOption = None,
    http_password_env: HttpPasswordEnvOption = None,
    token_env: TokenEnvOption = None,
    verify_signatures: VerifyOption = False,
    allowed_signers: AllowedSignersOption = None,
    gpg_home: GpgHomeOption = None,
    state_dir: StateDirOption = None,
    kubeconfig: KubeconfigOption = None,
    context: ContextOption = None,
    retry_deadline: RetryOption = 60.0,
    kustomize: KustomizeOption = None,
    url: DaemonUrlOption = None,
    token: TokenOption = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Apply a directory of manifests (TREE, or the head of --repo) to the cluster: ordered,
    pruned, health-checked. With neither, ask the daemon at --url to sync now."""
    if tree is None and not repo and url is not None:
        daemon_sync(url, token, output=output.value)
        return
    options = RepoOptions(
        repo=repo or "", branch=branch, ssh_key=ssh_key, known_hosts=known_hosts,
        http_user=http_user, http_password_env=http_password_env, token_env=token_env,
        verify_signatures=verify_signatures, allowed_signers=allowed_signers, gpg_home=gpg_home,
        state_dir=state_dir,
    )  # fmt: skip
    settings = _settings(
        name, prune=prune, dry_run=dry_run, health_timeout=health_timeout, kustomize=kustomize
    )
    work, state = _sync_work(
        tree,
        options,
        paths=tuple(path or (".",)),
        tree_revision=revision or "unknown",
        revision_given=revision is not None,
    )
    with _holding(state):
        marker = _run(kubeconfig, context, retry_deadline, lambda kube: work(kube, settings))
    _print_marker(marker, output, only_changes=dry_run)
    if marker.outcome is not Outcome.SUCCEEDED:
        raise typer.Exit(1)


def diff_command(
    tree: TreeArgument = None,
    repo: RepoOption = None,
    branch: BranchOption = "main",
    path: PathsOption = None,
    name: NameOption = "default",
    ssh_key: SshKeyOption = None,
    known_hosts: KnownHostsOption = None,
    http_user: HttpUserOption = None,
    http_password_env: HttpPasswordEnvOption = None,
    token_env: TokenEnvOption = None,
    verify_signatures: VerifyOption = False,
    allowed_signers: AllowedSignersOption = None,
    gpg_home: GpgHomeOption = None,
    state_dir: StateDirOption = None,
    kubeconfig: KubeconfigOption = None,
    context: ContextOption = None,
    retry_deadline: RetryOption = 60.0,
    kustomize: KustomizeOption = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Compare the repo (TREE, or the head of --repo) with the live cluster, object by object
    (nothing is changed)."""
    options = RepoOptions(
        repo=repo or "", branch=branch, ssh_key=ssh_key, known_hosts=known_hosts,
        http_user=http_user, http_password_env=http_password_env, token_env=token_env,
        verify_signatures=verify_signatures, allowed_signers=allowed_signers, gpg_home=gpg_home,
        state_dir=state_dir,
    )  # fmt: skip
    settings = _settings(name, prune=True, dry_run=True, health_timeout=0, kustomize=kustomize)
    work, state = _sync_work(tree, options, paths=tuple(path or (".",)), tree_revision="diff")
    with _holding(state):
        marker = _run(kubeconfig, context, retry_deadline, lambda kube: work(kube, settings))
    _print_marker(marker, output, only_changes=True)
    if (
        marker.failures
        or marker.outcome is Outcome.REFUSED
        or any(_is_change(r.action) for r in marker.results)
    ):
        raise typer.Exit(1)


SyncWork = Callable[[KubeClient, SyncSettings], Awaitable[SyncMarker]]


def _sync_work(
    tree: Path | None,
    options: RepoOptions,
    *,
    paths: tuple[str, ...],
    tree_revision: str,
    revision_given: bool = False,
) -> tuple[SyncWork, Path | None]:
    """What to sync: TREE as it is, or the fetched (and signature-checked) head of --repo; and
    the state directory that work writes (None for a TREE: nothing is kept)."""
    if (tree is None) == (not options.repo):
        raise typer.BadParameter(
            "give either a TREE directory or --repo URL (one of them), or --url of a daemon"
        )
    if tree is not None:
        source = SyncSource(tree, tree_revision, paths)
        return (lambda kube, settings: sync_once(kube, source, settings)), None
    if revision_given:
        raise typer.BadParameter(
            "--revision names what a TREE holds; with --repo the branch head is synced",
            param_hint="--revision",
        )
    git_source = options.git_source(paths)
    return (lambda kube, settings: git_source.sync(kube, settings)), git_source.mirror.state_dir


def _holding(state_dir: Path | None) -> contextlib.AbstractContextManager[object]:
    return hold_state_dir(state_dir) if state_dir is not None else contextlib.nullcontext()


def status_command(
    name: NameOption = "default",
    kubeconfig: KubeconfigOption = None,
    context: ContextOption = None,
    retry_deadline: RetryOption = 60.0,
    url: DaemonUrlOption = None,
    token: TokenOption = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Show the last sync: revision, outcome, per-object result, health and drift (recorded in
    the cluster, or by the daemon at --url)."""
    if url is not None:
        daemon_status(url, token, output=output.value)
        return
    marker = _run(kubeconfig, context, retry_deadline, lambda kube: read_status(kube, name))
    if marker is None:
        typer.echo(f"sync {name!r} has never run against this cluster", err=True)
        raise typer.Exit(1)
    _print_marker(marker, output, only_changes=False)


def _settings(
    name: str, *, prune: bool, dry_run: bool, health_timeout: float, kustomize: Path | None
) -> SyncSettings:
    try:
        return SyncSettings(
            name=name,
            prune=prune,
            dry_run=dry_run,
            health_timeout=health_timeout,
            kustomize=kustomize,
        )
    except ValueError as e:
        raise typer.BadParameter(str(e), param_hint="--name") from e


def _run(
    kubeconfig: Path | None,
    context: str | None,
    retry_deadline: float,
    work: Callable[[KubeClient], Awaitable[T]],
) -> T:
    retry = RetryPolicy(deadline=retry_deadline)

    async def main() -> T:
        async with await KubeClient.connect(kubeconfig, context=context, retry=retry) as kube:
            return await work(kube)

    try:
        return asyncio.run(main())
    except (KubeError, GitError) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from e


def _is_change(action: Action) -> bool:
    return action not in (Action.UNCHANGED, Action.KEPT)


def _print_marker(marker: SyncMarker, output: OutputFormat, *, only_changes: bool) -> None:
    data: dict[str, Any] = marker.to_data()
    if only_changes:
        data["objects"] = [o for o in data["objects"] if _is_change(Action(o["action"]))]
    if output is OutputFormat.JSON:
        typer.echo(json.dumps(data, indent=2))
        return
    if output is OutputFormat.YAML:
        typer.echo(yaml.safe_dump(data, sort_keys=False), nl=False)
        return
    dry = " (dry run)" if marker.dry_run else ""
    counts = ", ".join(f"{n} {action}" for action, n in data["counts"].items()) or "no objects"
    typer.echo(f"sync {marker.name}{dry}: revision {marker.revision} at {marker.time}")
    typer.echo(f"outcome: {marker.outcome} ({counts})")
    if marker.refusal is not None:
        typer.echo(describe(marker))
    rows = [("OBJECT", "ACTION", "HEALTH", "REASON")] + [
        (
            f"{o['kind']} {o['namespace'] + '/' if o['namespace'] else ''}{o['name']}",
            o["action"],
            o.get("health", ""),
            o.get("reason") or o.get("healthReason", ""),
        )
        for o in data["objects"]
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    if len(rows) > 1:
        for row in rows:
            cells = [cell.ljust(widths[column]) for column, cell in enumerate(row[:3])]
            typer.echo("  ".join([*cells, row[3]]).rstrip())
    for obj in data["objects"]:
        for change in obj.get("drift", []):
            where = f"{obj['kind']} {obj['name']}: {change['path']}"
            typer.echo(f"  drift {where}: repo {change['desired']!r}, live {change['live']!r}")
    for failure in marker.failures:
        typer.echo(f"failed: {failure}")
