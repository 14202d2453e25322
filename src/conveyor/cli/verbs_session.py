"""What every API verb shares: the options that reach the daemon, and the exit codes.

Exit codes are decided here and only here::

    0  the operation was done (or, on a dry run, planned)
    1  it was done but failed: a workload not healthy by its deadline, a release rolled back;
       or the daemon could not do it (its git host, cluster or store failed: a 5xx answer)
    2  it could not be asked: bad options, a request the daemon refused as malformed (4xx),
       no daemon at --url, or a token it does not accept
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Annotated, Any

import typer

from conveyor.adapters.api_client import ApiClient, ApiClientError, ApiRejected
from conveyor.cli.output_format import OutputFormat

__all__ = [
    "DEFAULT_URL",
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "ExcludeOption",
    "MessageOption",
    "OutputOption",
    "TokenOption",
    "UrlOption",
    "UserOption",
    "WorkloadsOption",
    "api_session",
    "current_user",
    "exit_for",
    "selection",
]

DEFAULT_URL = "http://127.0.0.1:3030"
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

UrlOption = Annotated[
    str, typer.Option("--url", envvar="CONVEYOR_URL", help="The daemon's API base URL.")
]
TokenOption = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar="CONVEYOR_TOKEN",
        help="The daemon's API token (prefer the environment variable: arguments show in ps).",
        show_default=False,
    ),
]
OutputOption = Annotated[OutputFormat, typer.Option("--output", "-o", help="Output format.")]
WorkloadsOption = Annotated[
    list[str] | None,
    typer.Option("--workload", "-w", help="Workload id NAMESPACE:KIND/NAME (repeatable)."),
]
ExcludeOption = Annotated[
    list[str] | None,
    typer.Option("--exclude", help="Workload id to leave out of --all (repeatable)."),
]
MessageOption = Annotated[
    str, typer.Option("--message", "-m", help="Why: recorded in the commit and the history.")
]
UserOption = Annotated[
    str | None,
    typer.Option(
        "--user",
        envvar="CONVEYOR_USER",
        help="Who asks, for the commit and the history (default: your login name).",
        show_default=False,
    ),
]


def current_user(user: str | None) -> str:
    if user:
        return user
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (a container without a passwd entry)
        return "anonymous"


def selection(
    workloads: list[str] | None, *, all_: bool, exclude: list[str] | None
) -> dict[str, Any]:
    """The ``workloads``/``all``/``exclude`` of a request body; at least one must select."""
    if not workloads and not all_:
        raise typer.BadParameter("name workloads with --workload, or use --all")
    if workloads and all_:
        raise typer.BadParameter("use --workload or --all, not both", param_hint="--all")
    if exclude and not all_:
        raise typer.BadParameter("--exclude only narrows --all", param_hint="--exclude")
    return {"workloads": list(workloads or []), "all": all_, "exclude": list(exclude or [])}


@contextmanager
def api_session(url: str, token: str | None) -> Iterator[ApiClient]:
    """A client for the daemon at ``url``; a failed request ends the command with its code."""
    try:
        with ApiClient(url, token) as client:
            yield client
    except ApiRejected as e:
        typer.echo(f"error: the daemon refused: {e.message}", err=True)
        raise typer.Exit(EXIT_FAILED if e.status >= 500 else EXIT_USAGE) from e
    except ApiClientError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(EXIT_USAGE) from e


def exit_for(operation: Mapping[str, Any]) -> None:
    """End with 1 when the operation was rolled back, left a workload unhealthy, or its commit
    was not applied (its sync refused or failed it)."""
    unhealthy = [h for h in operation.get("health") or () if not h["healthy"]]
    if operation.get("rolledBack") or operation.get("notApplied") or unhealthy:
        raise typer.Exit(EXIT_FAILED)
