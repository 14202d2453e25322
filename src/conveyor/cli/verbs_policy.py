"""The policy verbs: lock, unlock, automate, deautomate and policy, each one commit by the daemon.

``conveyor automate`` already meant one-shot image automation of a repo (``--repo``, see
:mod:`conveyor.cli.images`); it keeps that meaning with ``--repo`` and is the fluxctl verb with
``--workload``/``--all``. This module registers that one command in place of the earlier one.

The local run holds its state directory's lock (see :class:`conveyor.adapters.store.StateDirLock`)
for as long as it runs: a daemon or another local run on the same ``--state-dir`` makes it exit 2
at once rather than race it on the mirror and the metadata cache.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from conveyor.cli import images as image_commands
from conveyor.cli.output_format import OutputFormat
from conveyor.cli.repo_options import (
    HttpPasswordEnvOption,
    HttpUserOption,
    KnownHostsOption,
    SshKeyOption,
    TokenEnvOption,
    hold_state_dir,
)
from conveyor.cli.verbs_output import print_operation
from conveyor.cli.verbs_session import (
    DEFAULT_URL,
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

__all__ = ["register"]

AllOption = Annotated[bool, typer.Option("--all", help="Every workload in the repo.")]

# The local run's default state directory (the one ``conveyor.cli.images`` documents); resolved
# here so that the directory locked is the very one the run uses.
DEFAULT_LOCAL_STATE_DIR = Path("~/.cache/conveyor/automation")


def register(app: typer.Typer) -> None:
    # Exactly one `automate`: this one, which still does the local run when given --repo.
    app.registered_commands[:] = [c for c in app.registered_commands if c.name != "automate"]
    app.command("lock")(
        _simple_verb(
            "lock",
            "Lock workloads: automation and releases leave them alone (a release needs --force).",
        )
    )
    app.command("unlock")(_simple_verb("unlock", "Unlock workloads."))
    app.command("automate")(automate_command)
    app.command("deautomate")(
        _simple_verb("deautomate", "Stop automating workloads' images (releases still work).")
    )
    app.command("policy")(policy_command)


def _simple_verb(action: str, summary: str) -> Callable[..., None]:
    def command(
        workload: WorkloadsOption = None,
        all_: AllOption = False,
        exclude: ExcludeOption = None,
        message: MessageOption = "",
        user: UserOption = None,
        url: UrlOption = DEFAULT_URL,
        token: TokenOption = None,
        output: OutputOption = OutputFormat.TABLE,
    ) -> None:
        body = {"action": action, **selection(workload, all_=all_, exclude=exclude)}
        _change(body, message=message, user=user, url=url, token=token, output=output)

    command.__doc__ = f"{summary} One commit to the config repo, then a sync."
    command.__name__ = f"{action}_command"
    return command


def automate_command(
    workload: WorkloadsOption = None,
    all_: AllOption = False,
    exclude: ExcludeOption = None,
    message: MessageOption = "",
    user: UserOption = None,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    repo: Annotated[
        str | None,
        typer.Option(
            "--repo",
            help="Instead: one local automation run on this config repo (no daemon): scan,"
            " plan, commit every image change in one commit.",
        ),
    ] = None,
    branch: image_commands.BranchOption = "main",
    path: image_commands.PathsOption = None,
    config: image_commands.ConfigOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="With --repo: plan and show; commit nothing.")
    ] = False,
    ssh_key: SshKeyOption = None,
    known_hosts: KnownHostsOption = None,
    http_user: HttpUserOption = None,
    http_password_env: HttpPasswordEnvOption = None,
    token_env: TokenEnvOption = None,
    insecure_registry: image_commands.InsecureOption = None,
    state_dir: image_commands.StateDirOption = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Automate workloads' images (--workload/--all, through the daemon: one commit), or run
    image automation once on a repo (--repo, locally)."""
    if repo is not None:
        if workload or all_:
            raise typer.BadParameter(
                "--repo runs automation locally; --workload/--all ask the daemon: use one",
                param_hint="--repo",
            )
        state = (state_dir or DEFAULT_LOCAL_STATE_DIR).expanduser()
        with hold_state_dir(state):
            image_commands.automate_command(
                repo=repo,
                branch=branch,
                path=path,
                config=config,
                dry_run=dry_run,
                ssh_key=ssh_key,
                known_hosts=known_hosts,
                http_user=http_user,
                http_password_env=http_password_env,
                token_env=token_env,
                insecure_registry=insecure_registry,
                state_dir=state,
                output=output,
            )
        return
    if dry_run:
        raise typer.BadParameter("--dry-run goes with --repo", param_hint="--dry-run")
    body = {"action": "automate", **selection(workload, all_=all_, exclude=exclude)}
    _change(body, message=message, user=user, url=url, token=token, output=output)


def policy_command(
    tag: Annotated[
        str,
        typer.Option(
            "--tag",
            help="CONTAINER=PATTERN, e.g. app=semver:~1.2, app=glob:v1.*; CONTAINER= clears it.",
        ),
    ],
    workload: WorkloadsOption = None,
    all_: AllOption = False,
    exclude: ExcludeOption = None,
    message: MessageOption = "",
    user: UserOption = None,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    output: OutputOption = OutputFormat.TABLE,
) -> None:
    """Set (or clear) a container's tag policy on workloads: one commit to the config repo."""
    container, equals, pattern = tag.partition("=")
    if not equals or not container.strip():
        raise typer.BadParameter(
            "write CONTAINER=PATTERN, e.g. app=semver:~1.2", param_hint="--tag"
        )
    body = {
        "action": "policy",
        **selection(workload, all_=all_, exclude=exclude),
        "container": container.strip(),
        "pattern": pattern.strip() or None,
    }
    _change(body, message=message, user=user, url=url, token=token, output=output)


def _change(
    body: dict[str, Any],
    *,
    message: str,
    user: str | None,
    url: str,
    token: str | None,
    output: OutputFormat,
) -> None:
    with api_session(url, token) as client:
        result = client.policy({**body, "user": current_user(user), "message": message})
    print_operation(result, output=output.value)
    exit_for(result)
