"""How ``conveyor images`` and ``conveyor automate`` print an automation result.

``table`` is for people: one row per workload container or setter-marked value, and with
``--explain`` the plan's explanation (the outcome and why for each, and a verdict for every
candidate tag that looks newer than the current one). ``json`` and ``yaml`` print the same data
as :func:`result_data`, for scripts.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import typer
import yaml

from conveyor.core.plan import Decision, Outcome
from conveyor.core.plan_explain import explain_plan
from conveyor.daemon.automation import AutomationResult

__all__ = ["decision_data", "print_changes", "print_images", "result_data"]


def decision_data(decision: Decision, *, explain: bool) -> dict[str, Any]:
    target = decision.target
    data: dict[str, Any] = {
        "workload": target.workload_id,
        "container": target.container,
        "init": target.init,
        "setterPolicy": target.setter_policy,
        "path": target.path,
        "line": target.line,
        "image": _current_image(decision),
        "repository": decision.repository,
        "policy": str(decision.policy) if decision.policy is not None else None,
        "outcome": decision.outcome.value,
        "currentTag": decision.current_tag,
        "chosenTag": _chosen_tag(decision),
        "reason": decision.reason,
    }
    if explain and decision.selection is not None:
        data["candidates"] = [
            {
                "tag": verdict.tag,
                "reason": verdict.reason.value,
                "message": verdict.message,
                "current": verdict.is_current,
            }
            for verdict in decision.selection.verdicts
        ]
    return data


def result_data(result: AutomationResult, *, explain: bool) -> dict[str, Any]:
    return {
        "repo": result.target.remote.url,
        "branch": result.target.branch,
        "revision": result.revision,
        "committed": result.committed,
        "commit": result.commit,
        "dryRun": result.dry_run,
        "attempts": result.attempts,
        "changes": [
            {
                "workload": change.workload_id,
                "container": change.container,
                "setterPolicy": change.setter_policy,
                "path": change.path,
                "oldImage": change.old_image,
                "newImage": change.new_image,
            }
            for change in result.changes
        ],
        "images": [decision_data(d, explain=explain) for d in result.plan.decisions],
        "scanErrors": dict(sorted(result.scan_errors.items())),
        "problems": [{"path": p.path, "message": p.message} for p in result.problems],
    }


def print_images(result: AutomationResult, *, output: str, explain: bool) -> None:
    """Every image value, what its policy would choose and (``explain``) why."""
    if _print_data(result, output=output, explain=explain):
        return
    rows = [("WORKLOAD", "CONTAINER", "IMAGE", "CHOSEN", "STATUS")]
    rows += [
        (
            d.target.workload_id or f"{d.target.path}:{d.target.line}",
            _what(d),
            _current_image(d),
            _chosen_tag(d) or "-",
            d.outcome.value.replace("_", " "),
        )
        for d in result.plan.decisions
    ]
    _print_table(rows)
    if explain:
        typer.echo("")
        for line in explain_plan(result.plan, include_not_automated=True):
            typer.echo(line)
    _print_trouble(result)


def print_changes(result: AutomationResult, *, output: str) -> None:
    """What the run committed (or, for a dry run, would commit)."""
    if _print_data(result, output=output, explain=False):
        return
    branch = f"branch {result.target.branch}"
    count = f"{len(result.changes)} change{'s' if len(result.changes) != 1 else ''}"
    if result.committed:
        typer.echo(f"committed {result.revision} to {branch} ({count})")
    elif result.dry_run and result.changes:
        typer.echo(f"dry run: would commit {count} to {branch} at {result.revision}")
    else:
        typer.echo(f"nothing to commit: {branch} is at {result.revision}")
    for change in result.changes:
        typer.echo(change.summary_line())
    _print_trouble(result)


def _print_data(result: AutomationResult, *, output: str, explain: bool) -> bool:
    if output == "json":
        typer.echo(json.dumps(result_data(result, explain=explain), indent=2))
        return True
    if output == "yaml":
        typer.echo(yaml.safe_dump(result_data(result, explain=explain), sort_keys=False), nl=False)
        return True
    return False


def _print_trouble(result: AutomationResult) -> None:
    for repository, error in sorted(result.scan_errors.items()):
        typer.echo(f"scan failed: {repository}: {error}", err=True)
    for problem in result.problems:
        typer.echo(f"problem: {problem.path}: {problem.message}", err=True)


def _print_table(rows: Sequence[tuple[str, ...]]) -> None:
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(widths[column]) for column, cell in enumerate(row[:-1])]
        typer.echo("  ".join([*cells, row[-1]]).rstrip())


def _what(decision: Decision) -> str:
    target = decision.target
    if target.container is not None:
        return f"{target.container} (init)" if target.init else target.container
    suffix = f":{target.field}" if target.field != "image" else ""
    return f"$imagepolicy {target.setter_policy}{suffix}"


def _current_image(decision: Decision) -> str:
    """The image as written; a marked tag is shown with its repository when that is known."""
    target = decision.target
    if target.field == "image" or decision.image_name is None:
        return target.written
    return decision.old_image


def _chosen_tag(decision: Decision) -> str | None:
    if decision.outcome is Outcome.UPDATE:
        return decision.new_tag
    if decision.outcome is Outcome.UP_TO_DATE:
        return decision.current_tag
    return None
