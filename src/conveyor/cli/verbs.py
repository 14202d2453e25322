"""The fluxctl-style verbs: ask a running ``conveyor daemon`` to list, release and roll back.

Every verb talks to the daemon's HTTP API (``--url``, ``CONVEYOR_URL``; ``--token``,
``CONVEYOR_TOKEN``), prints a table by default or the API's own answer with ``-o json|yaml``::

    conveyor list-workloads
    conveyor list-images [--workload W]
    conveyor release --workload NS:KIND/NAME ... | --all [--exclude W]
                     --update-image REPO:TAG | --update-all-images
                     [--dry-run] [--force] [--message M] [--user U] [--watch]
    conveyor rollback WORKLOAD [--to IMAGE|REVISION]
    conveyor lock | unlock | automate | deautomate --workload W [--message M]
    conveyor policy --workload W --tag CONTAINER=PATTERN
    conveyor history [WORKLOAD]

The policy verbs live in :mod:`.verbs_policy`; exit codes are decided in :mod:`.verbs_session`.
"""

from __future__ import annotations

import concurrent.futures
from typing import Annotated, Any

import typer

from conveyor.adapters.api_client import ApiClient, ApiClientError, ApiRejected
from conveyor.cli import verbs_policy
from conveyor.cli.output_format import OutputFormat
from conveyor.cli.verbs_output import (
    print_data,
    print_history,
    print_images,
    print_operation,
    print_progress,
    print_workloads,
)
from conveyor.cli.verbs_session import (
    DEFAULT_URL,
    EXIT_USAGE,
    ExcludeOption,
    MessageOption,
    OutputOption,
    TokenOption,
    UrlOption,
    UserOption,
    WorkloadsOption,
    api_session,
    current_user,
    exit_for,
    selection,
)
from conveyor.core.release import ReleaseError, normalize_workload_id

__all__ = ["register"]

WATCH_INTERVAL = 1.0  # seconds between two health polls of release --watch


def register(app: typer.Typer) -> None:
    app.command("list-workloads")(list_workloads_command)
    app.command("list-images")(list_images_command)
    app.command("release")(release_command)
    app.command("rollback")(rollback_command)
    app.command("history")(history_command)
    app.command("identity")(identity_command)
    verbs_policy.register(app)


def list_workloads_command(
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """List the workloads of the config repo: images in the repo and live, locks, policies."""
    with api_session(url, token) as client:
        print_workloads(client.workloads(), output=output.value)


def list_images_command(
    workload: WorkloadsOption = None,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """List automated images: the current tag (*), the one the policy chooses (->), and why
    each other candidate was not chosen."""
    wanted = [_workload_id(w) for w in workload or []]
    with api_session(url, token) as client:
        try:
            automation = client.images()
        except ApiRejected as e:
            if e.status != 404:
                raise
            typer.echo(
                f"error: the daemon at {url} does not serve GET /api/v1/images (is it an older"
                " conveyor?); `conveyor images --repo ... --explain` shows the same, locally",
                err=True,
            )
            raise typer.Exit(EXIT_USAGE) from e
        print_images(automation, output=output.value, workloads=wanted)


def release_command(
    workload: WorkloadsOption = None,
    all_: Annotated[bool, typer.Option("--all", help="Every workload in the repo.")] = False,
    exclude: ExcludeOption = None,
    update_image: Annotated[
        str | None,
        typer.Option("--update-image", "-i", help="The image REPO:TAG to release."),
    ] = None,
    update_all_images: Annotated[
        bool,
        typer.Option("--update-all-images", help="Release what each container's policy chooses."),
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Show the plan and the diff against the cluster; write nothing."
        ),
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Release past locks and tag filters.")
    ] = False,
    message: MessageOption = "",
    user: UserOption = None,
    watch: Annotated[
        bool,
        typer.Option("--watch", help="Print the workloads' health while the release rolls out."),
    ] = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Release an image to workloads as one commit to the config repo, then sync and wait for
    the workloads' health (a release that fails it is rolled back and locked)."""
    if (update_image is None) == (not update_all_images):
        raise typer.BadParameter(
            "give --update-image REPO:TAG or --update-all-images, exactly one",
            param_hint="--update-image",
        )
    body = {
        **selection(workload, all_=all_, exclude=exclude),
        "image": update_image,
        "update_all": update_all_images,
        "force": force,
        "dry_run": dry_run,
        "user": current_user(user),
        "message": message,
    }
    with api_session(url, token) as client:
        if watch and not dry_run:
            result = _release_watching(client, body, url=url, token=token)
        else:
            result = client.release(body)
    print_operation(result, output=output.value)
    exit_for(result)


def rollback_command(
    workload: Annotated[str, typer.Argument(help="Workload id NAMESPACE:KIND/NAME.")],
    to: Annotated[
        str | None,
        typer.Option(
            "--to",
            help="An image REPO:TAG, or a git revision (its images); default: the image before"
            " the current release.",
        ),
    ] = None,
    message: MessageOption = "",
    user: UserOption = None,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Roll a workload back as a commit to the config repo; no image is rebuilt."""
    body = {
        "workload": _workload_id(workload),
        "to": to,
        "user": current_user(user),
        "message": message,
    }
    with api_session(url, token) as client:
        result = client.rollback(body)
    print_operation(result, output=output.value)
    exit_for(result)


def history_command(
    workload: Annotated[
        str | None, typer.Argument(help="Only this workload (NAMESPACE:KIND/NAME).")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="Newest N.")] = 50,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Show what was released, rolled back, locked or synced: who, when, why, which commit."""
    wanted = _workload_id(workload) if workload else None
    with api_session(url, token) as client:
        print_history(client.history(wanted, limit=limit), output=output.value)


def identity_command(
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Print the SSH public key the daemon uses: add it to the config repo as a deploy key."""
    with api_session(url, token) as client:
        answer = client.get("/api/v1/identity")
    if not print_data(answer, output=output.value):
        typer.echo(answer["publicKey"])


def _workload_id(text: str) -> str:
    """Checked before asking the daemon, so a typo is a usage error with the expected form."""
    try:
        return normalize_workload_id(text)
    except ReleaseError as e:
        raise typer.BadParameter(str(e), param_hint="WORKLOAD") from e


def _release_watching(
    client: ApiClient, body: dict[str, Any], *, url: str, token: str | None
) -> Any:
    """The release's answer; while waiting for it, each change of its workloads' health."""
    watched = _watched_ids(client, body)
    typer.echo(f"releasing; watching {', '.join(watched) or 'no workload'}", err=True)
    seen: dict[str, tuple[str, str]] = {}
    # The release request blocks until health settles; a second client polls meanwhile.
    with (
        concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool,
        ApiClient(url, token, timeout=30.0) as poller,
    ):
        pending = pool.submit(client.release, body)
        while True:
            try:
                return pending.result(timeout=WATCH_INTERVAL)
            except concurrent.futures.TimeoutError:
                pass
            try:
                polled = poller.workload_status(watched) if watched else []
            except ApiClientError as e:
                # Watching is a courtesy: the release's own answer still says how it went.
                typer.echo(f"warning: stopped watching: {e}", err=True)
                watched = []
                continue
            for health in polled:
                state = (health["status"], health["reason"])
                if seen.get(health["workload"]) != state:
                    seen[health["workload"]] = state
                    print_progress(health)


def _watched_ids(client: ApiClient, body: dict[str, Any]) -> list[str]:
    if not body["all"]:
        return [_workload_id(w) for w in body["workloads"]]
    excluded = {_workload_id(w) for w in body["exclude"]}
    return [w["id"] for w in client.workloads() if w["id"] not in excluded]
