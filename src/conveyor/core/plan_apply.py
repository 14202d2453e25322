"""Carrying out an automation plan: byte-exact edits of exactly the values the plan decided.

:func:`~conveyor.core.edits.apply_image_updates` changes every value of a repository inside the
workloads it is given; a plan is finer than that (one container but not its neighbour, an
automated workload next to a locked one in the same file). So the plan's updates are made in
groups, one per file, per workload (or the file's values outside any workload) and per image
update, each restricted to that file and workload, and every change a group makes is checked
against the decisions it carries out. A group that would change anything the plan did not decide
(a second container on the same image with another decision, an unmarked value of the same
repository next to a setter marker) or that no longer finds a decided value (the file changed
since it was planned) is not applied and is reported in ``problems``: nothing outside the plan is
ever written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from conveyor.core.commit_message import ReleasedChange
from conveyor.core.edits import (
    FileProblem,
    ImageChange,
    ImageUpdate,
    ImageUpdateResult,
    apply_image_updates,
)
from conveyor.core.plan import AutomationPlan, Decision

__all__ = ["apply_plan", "released_changes"]


@dataclass(frozen=True)
class _EditGroup:
    path: str
    workload_id: str | None
    update: ImageUpdate
    decisions: tuple[Decision, ...]

    def expects(self, change: ImageChange) -> bool:
        return any(_same_value(decision, change) for decision in self.decisions)


def apply_plan(files: Mapping[str, str], plan: AutomationPlan) -> ImageUpdateResult:
    """Make the plan's updates in ``files`` (the texts it was planned from), and only those."""
    texts = dict(files)
    changes: list[ImageChange] = []
    problems: list[FileProblem] = []
    for group in _edit_groups(plan):
        text = texts.get(group.path)
        if text is None:
            problems.append(FileProblem(group.path, "the plan edits this file, but it is gone"))
            continue
        result = apply_image_updates(
            {group.path: text},
            [group.update],
            workloads=None if group.workload_id is None else {group.workload_id},
        )
        problem = result.problems[0] if result.problems else _mismatch(group, result.changes)
        if problem is not None:
            problems.append(problem)
            continue
        texts[group.path] = result.changed_files.get(group.path, text)
        changes.extend(result.changes)
    return ImageUpdateResult(
        changed_files={path: text for path, text in texts.items() if text != files.get(path)},
        changes=tuple(changes),
        problems=tuple(problems),
    )


def released_changes(plan: AutomationPlan, result: ImageUpdateResult) -> tuple[ReleasedChange, ...]:
    """The plan's updates that ``result`` made, in plan order, for the commit message."""
    return tuple(
        ReleasedChange(
            workload_id=decision.target.workload_id,
            container=decision.target.container,
            setter_policy=None if decision.target.container else decision.target.setter_policy,
            path=None if decision.target.workload_id else decision.target.path,
            old_image=decision.old_image,
            new_image=decision.new_image,
        )
        for decision in plan.updating
        if any(_same_value(decision, change) for change in result.changes)
    )


def _edit_groups(plan: AutomationPlan) -> list[_EditGroup]:
    grouped: dict[tuple[str, str, str, str, str], list[Decision]] = {}
    for decision in plan.updating:
        target = decision.target
        assert decision.repository is not None and decision.new_tag is not None
        key = (
            target.path,
            target.workload_id or "",
            decision.repository,
            decision.new_tag,
            decision.new_digest or "",
        )
        grouped.setdefault(key, []).append(decision)
    groups = []
    for key in sorted(grouped):
        decisions = grouped[key]
        first = decisions[0]
        update = ImageUpdate(
            repository=first.image_name or key[2],
            tag=key[3],
            digest=first.new_digest,
            setter_policies=frozenset(
                d.target.setter_policy for d in decisions if d.target.setter_policy
            ),
        )
        groups.append(_EditGroup(key[0], key[1] or None, update, tuple(decisions)))
    return groups


def _mismatch(group: _EditGroup, changes: Sequence[ImageChange]) -> FileProblem | None:
    # A decided value that was not found means the text is not the planned one: say that first.
    missing = [d for d in group.decisions if not any(_same_value(d, c) for c in changes)]
    if missing:
        target = missing[0].target
        return FileProblem(
            group.path,
            f"line {target.line} no longer reads {target.written!r}; the file changed since it "
            "was planned, plan again",
        )
    unexpected = [change for change in changes if not group.expects(change)]
    if unexpected:
        change = unexpected[0]
        where = f"{change.workload_id} " if change.workload_id else ""
        return FileProblem(
            group.path,
            f"updating {group.update.repository} to {group.update.tag} here would also change "
            f"line {change.line} ({where}{change.old_value!r}), which the plan leaves alone; "
            "give both values the same policy, or move one to its own file",
        )
    return None


def _same_value(decision: Decision, change: ImageChange) -> bool:
    target = decision.target
    return (target.path, target.line, target.written) == (
        change.path,
        change.line,
        change.old_value,
    )
