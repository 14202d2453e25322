"""``conveyor sync`` and ``conveyor status`` against a running daemon (``--url``).

The local forms apply a TREE or ``--repo`` themselves; these ask the daemon, which owns the repo,
to fetch and apply now (and wait until it has), or report its last sync.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import typer

from conveyor.cli.verbs_output import print_data
from conveyor.cli.verbs_session import EXIT_FAILED, api_session

DaemonUrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        envvar="CONVEYOR_URL",
        help="Ask the conveyor daemon at this API URL instead of syncing here.",
        show_default=False,
    ),
]


def daemon_sync(url: str, token: str | None, *, output: str) -> None:
    """Have the daemon fetch and apply its branch now; print the sync it recorded."""
    with api_session(url, token) as client:
        marker = client.post("/api/v1/sync", {})
    _print(marker, output=output)


def daemon_status(url: str, token: str | None, *, output: str) -> None:
    """Print the daemon's last sync."""
    with api_session(url, token) as client:
        marker = client.get("/api/v1/status")
    if marker is None:
        typer.echo("the daemon has not synced yet", err=True)
        raise typer.Exit(EXIT_FAILED)
    _print(marker, output=output)


def _print(marker: Mapping[str, Any], *, output: str) -> None:
    if not print_data(marker, output=output):
        counts = ", ".join(f"{n} {action}" for action, n in sorted(marker["counts"].items()))
        typer.echo(f"revision: {marker['revision']}")
        typer.echo(f"outcome: {marker['outcome']} ({counts or 'no objects'})")
        for failure in marker["failures"]:
            typer.echo(f"failed: {failure}")
        if marker.get("refusal"):
            typer.echo(f"refused: {marker['refusal']}")
    if marker["outcome"] != "succeeded":
        raise typer.Exit(EXIT_FAILED)
