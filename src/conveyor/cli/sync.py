"""``conveyor sync``, ``conveyor diff`` and ``conveyor status``: one-shot, against a kubeconfig.

Exit codes: 0 when everything applied (or nothing differs, for ``diff``), 1 when some objects
failed (or ``diff`` found differences), 2 when the cluster could not be used at all.
"""

from __future__ import annotations

import asyncio
import enum
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
import yaml

from conveyor.adapters.kube import KubeClient, KubeError, RetryPolicy
from conveyor.core.sync.record import Action, Outcome, SyncMarker
from conveyor.daemon.sync import SyncSettings, SyncSource, read_status, sync_once

T = TypeVar("T")


class OutputFormat(enum.StrEnum):
    TABLE = "table"
    JSON = "json"
    YAML = "yaml"


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
RevisionOption = Annotated[
    str, typer.Option("--revision", help="The revision the tree holds (recorded in the marker).")
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
    tree: Annotated[Path, typer.Argument(help="A checked-out config repo (directory).")],
    revision: RevisionOption = "unknown",
    path: PathsOption = None,
    name: NameOption = "default",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would change.")] = False,
    prune: Annotated[bool, typer.Option("--prune/--no-prune", help="Delete what left.")] = True,
    health_timeout: Annotated[
        float, typer.Option("--health-timeout", help="Seconds to wait for health (0: don't).")
    ] = 120.0,
    kubeconfig: KubeconfigOption = None,
    context: ContextOption = None,
    retry_deadline: RetryOption = 60.0,
    kustomize: KustomizeOption = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Apply a directory of manifests to the cluster: ordered, pruned, health-checked."""
    source = SyncSource(tree, revision, tuple(path or (".",)))
    settings = _settings(
        name, prune=prune, dry_run=dry_run, health_timeout=health_timeout, kustomize=kustomize
    )
    marker = _run(
        kubeconfig, context, retry_deadline, lambda kube: sync_once(kube, source, settings)
    )
    _print_marker(marker, output, only_changes=dry_run)
    if marker.outcome is not Outcome.SUCCEEDED:
        raise typer.Exit(1)


def diff_command(
    tree: Annotated[Path, typer.Argument(help="A checked-out config repo (directory).")],
    path: PathsOption = None,
    name: NameOption = "default",
    kubeconfig: KubeconfigOption = None,
    context: ContextOption = None,
    retry_deadline: RetryOption = 60.0,
    kustomize: KustomizeOption = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Compare the repo with the live cluster, object by object (nothing is changed)."""
    source = SyncSource(tree, "diff", tuple(path or (".",)))
    settings = _settings(name, prune=True, dry_run=True, health_timeout=0, kustomize=kustomize)
    marker = _run(
        kubeconfig, context, retry_deadline, lambda kube: sync_once(kube, source, settings)
    )
    _print_marker(marker, output, only_changes=True)
    if marker.failures or any(_is_change(r.action) for r in marker.results):
        raise typer.Exit(1)


def status_command(
    name: NameOption = "default",
    kubeconfig: KubeconfigOption = None,
    context: ContextOption = None,
    retry_deadline: RetryOption = 60.0,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Show the last sync: revision, outcome, per-object result, health and drift."""
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
    except KubeError as e:
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
