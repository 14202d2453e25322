"""How the API verbs print: tables for people (rich), the API's own JSON for scripts.

``-o json`` and ``-o yaml`` print exactly what the API answered (camelCase keys, the same as
``GET /api/v1/...``), so a script may switch between the CLI and the API freely. Tables show the
same data, shortened; progress of ``release --watch`` goes to stderr so stdout stays parseable.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import typer
import yaml
from rich.console import Console
from rich.table import Table

__all__ = [
    "print_data",
    "print_history",
    "print_images",
    "print_operation",
    "print_progress",
    "print_workloads",
]

_PIPE_WIDTH = 200  # not a terminal: wide enough that images and ids are not wrapped


def print_data(data: Any, *, output: str) -> bool:
    """Print ``data`` as JSON or YAML when asked; False for a table (the caller prints it)."""
    if output == "json":
        typer.echo(json.dumps(data, indent=2))
        return True
    if output == "yaml":
        typer.echo(yaml.safe_dump(data, sort_keys=False).rstrip("\n"))
        return True
    return False


def print_workloads(workloads: Sequence[Mapping[str, Any]], *, output: str) -> None:
    if print_data(list(workloads), output=output):
        return
    table = _table("WORKLOAD", "CONTAINER", "IMAGE", "LIVE", "STATUS")
    for workload in workloads:
        for index, container in enumerate(workload["containers"] or [{}]):
            table.add_row(
                workload["id"] if index == 0 else "",
                container.get("name", "-"),
                container.get("image", "-"),
                _live(container, in_cluster=workload["inCluster"]),
                _workload_status(workload, container) if index == 0 else _policy(container),
            )
    _print(table)


def _policy(container: Mapping[str, Any]) -> str:
    words = [
        f"policy {container['policy']}" if container.get("policy") else "",
        f"exclude {container['exclude']}" if container.get("exclude") else "",
        f"min-age {container['minAge']}" if container.get("minAge") else "",
    ]
    return ", ".join(w for w in words if w)


def print_images(
    automation: Mapping[str, Any], *, output: str, workloads: Iterable[str] = ()
) -> None:
    """Per image: the current tag (marked ``*``), the chosen one (``->``) and, for every other
    candidate, why it was not chosen."""
    wanted = set(workloads)
    images = [i for i in automation["images"] if not wanted or i["workload"] in wanted]
    if print_data({**automation, "images": images}, output=output):
        return
    table = _table("WORKLOAD", "CONTAINER", "IMAGE", "", "TAG", "WHY")
    for image in images:
        table.add_row(
            image["workload"] or f"{image['path']}:{image['line']}",
            image["container"] or f"setter {image['setterPolicy']}",
            image["image"],
            "",
            image["chosenTag"] or "-",
            f"{image['outcome'].replace('_', ' ')}: {image['reason']}",
        )
        for candidate in image["candidates"]:
            mark = "*" if candidate["current"] else ""
            if candidate["tag"] == image["chosenTag"] and not candidate["current"]:
                mark = "->"
            table.add_row("", "", "", mark, candidate["tag"], candidate["message"])
    _print(table)
    for repository, error in automation.get("scanErrors", {}).items():
        typer.echo(f"warning: {repository} could not be scanned: {error}", err=True)


def print_operation(result: Mapping[str, Any], *, output: str) -> None:
    """What a release, rollback or policy change did, or (dry run) the plan and the live diff."""
    if print_data(result, output=output):
        return
    kind = result["kind"]
    if result["dryRun"]:
        typer.echo(f"dry run: {kind} would change {_count(result)}; nothing was written")
    elif result["commit"]:
        typer.echo(f"{kind}: committed {result['commit']}")
    else:
        typer.echo(f"{kind}: {result['message'].strip() or 'nothing to change'}")
    if result["changes"]:
        table = _table("WORKLOAD", "CONTAINER", "FROM", "TO")
        for change in result["changes"]:
            table.add_row(
                change["workload"] or change["path"],
                change["container"] or f"setter {change['setterPolicy']}",
                change["oldImage"],
                change["newImage"],
            )
        _print(table)
    if result["annotationChanges"]:
        table = _table("WORKLOAD", "ANNOTATION", "FROM", "TO")
        for change in result["annotationChanges"]:
            table.add_row(
                change["workload"],
                change["key"],
                change["oldValue"] or "(unset)",
                change["newValue"] or "(removed)",
            )
        _print(table)
    if result["diff"]:
        typer.echo("against the live cluster:")
        table = _table("WORKLOAD", "CONTAINER", "REPO", "LIVE", "PLANNED")
        for diff in result["diff"]:
            live = diff["liveImage"] or "(not deployed)"
            table.add_row(
                diff["workload"],
                diff["container"],
                diff["repoImage"],
                live if diff["liveDiffers"] else f"{live} (already)",
                diff["plannedImage"],
            )
        _print(table)
    for skipped in result["skipped"]:
        where = f" container {skipped['container']}" if skipped["container"] else ""
        typer.echo(f"skipped {skipped['workload']}{where}: {skipped['reason']}")
    if result["sync"]:
        typer.echo(f"synced {result['sync']['revision']}: {result['sync']['outcome']}")
    # .get: a daemon older than this CLI does not send the key.
    if result.get("notApplied"):
        typer.echo(
            f"NOT APPLIED: the commit is in the repo but the cluster does not run it:"
            f" {result['notApplied']}"
        )
    for health in result["health"] or ():
        typer.echo(f"{health['workload']}: {health['status']} ({health['reason']})")
    if result["rolledBack"]:
        typer.echo(
            f"the release failed its health check and was rolled back in"
            f" {result['revertCommit']}; the failed workloads are locked"
        )
    for problem in result["problems"]:
        typer.echo(f"warning: {problem['path']}: {problem['message']}", err=True)


def print_history(entries: Sequence[Mapping[str, Any]], *, output: str) -> None:
    if print_data(list(entries), output=output):
        return
    table = _table("TIME", "KIND", "USER", "WORKLOADS", "COMMIT", "RESULT", "MESSAGE")
    for entry in entries:
        table.add_row(
            entry["time"][:19].replace("T", " "),
            entry["kind"],
            entry["user"],
            ", ".join(entry["workloads"]),
            (entry["commit"] or "-")[:12],
            entry["result"],
            entry["message"],
        )
    _print(table)


def print_progress(health: Mapping[str, Any]) -> None:
    typer.echo(f"  {health['workload']}: {health['status']} ({health['reason']})", err=True)


def _count(result: Mapping[str, Any]) -> str:
    count = len(result["changes"]) + len(result["annotationChanges"])
    return f"{count} value{'s' if count != 1 else ''}"


def _live(container: Mapping[str, Any], *, in_cluster: bool) -> str:
    live = container.get("liveImage")
    if not in_cluster or live is None:
        return "(not deployed)"
    return "=" if live == container.get("image") else str(live)


def _workload_status(workload: Mapping[str, Any], container: Mapping[str, Any]) -> str:
    words = ["automated" if workload["automated"] else ""]
    if workload["locked"]:
        by = f" by {workload['lockedBy']}" if workload["lockedBy"] else ""
        why = f": {workload['lockReason']}" if workload["lockReason"] else ""
        words.append(f"locked{by}{why}")
    words.append(_policy(container))
    return ", ".join(w for w in words if w)


def _table(*columns: str) -> Table:
    table = Table(box=None, pad_edge=False, show_edge=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def _print(table: Table) -> None:
    # Console is made per call: it writes to whatever sys.stdout is now (CliRunner swaps it).
    width = None if sys.stdout.isatty() else _PIPE_WIDTH
    Console(file=sys.stdout, width=width, highlight=False, soft_wrap=False).print(table)
