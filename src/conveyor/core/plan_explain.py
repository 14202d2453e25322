"""An automation plan as text lines, for ``conveyor images --explain``.

Each decision gets one line (what it is, its image, the outcome and why) and, when a tag policy
was applied, one indented line per candidate tag saying why it was or was not chosen. By default
only the candidates that matter are listed: the chosen and current tags, and every candidate that
looks newer than the current tag (a higher version or number, a later build), since those are the
ones a reader asks about ("why not 1.3.0?"). The rest are counted.
"""

from __future__ import annotations

from datetime import datetime

from conveyor.core.plan import AutomationPlan, Decision, Outcome
from conveyor.core.policy import Reason, Selection, TagVerdict, parse_number, parse_version

__all__ = ["explain_decision", "explain_plan", "looks_newer"]

INDENT = "    "
_LABELS = {
    Outcome.NOT_AUTOMATED: "not automated",
    Outcome.LOCKED: "locked",
    Outcome.NO_POLICY: "no tag policy",
    Outcome.POLICY_ERROR: "policy error",
    Outcome.INVALID_IMAGE: "invalid image",
    Outcome.NO_TAGS: "no tags",
    Outcome.NO_CANDIDATE: "stays, no candidate",
    Outcome.UP_TO_DATE: "up to date",
    Outcome.UPDATE: "update",
}


def explain_plan(
    plan: AutomationPlan, *, include_not_automated: bool = False, all_candidates: bool = False
) -> list[str]:
    """Every decision of ``plan`` (the not-automated ones only when asked), then unread files."""
    lines: list[str] = []
    for decision in plan.decisions:
        if decision.outcome is Outcome.NOT_AUTOMATED and not include_not_automated:
            continue
        lines.extend(explain_decision(decision, all_candidates=all_candidates))
    lines.extend(f"{problem.path}: not read: {problem.message}" for problem in plan.problems)
    return lines


def explain_decision(decision: Decision, *, all_candidates: bool = False) -> list[str]:
    label = _LABELS[decision.outcome]
    if decision.outcome is Outcome.UPDATE:
        label = f"update to {decision.new_image}"
    # Reasons like "locked by alice: ..." already say the outcome; others get it in front.
    said = decision.reason if decision.reason.startswith(label) else f"{label} - {decision.reason}"
    lines = [f"{decision.subject} ({decision.target.written}): {said}"]
    selection = decision.selection
    if selection is None:
        return lines
    shown = [
        verdict
        for verdict in selection.verdicts
        if all_candidates or verdict.is_current or _newer_than_current(verdict, selection)
    ]
    lines.extend(INDENT + verdict.message for verdict in shown)
    hidden = len(selection.verdicts) - len(shown)
    if hidden:
        lines.append(
            f"{INDENT}(+{hidden} other candidate{'s' if hidden != 1 else ''} "
            "not newer than the current tag)"
        )
    return lines


def looks_newer(
    tag: str,
    *,
    than: str | None,
    created: datetime | None = None,
    than_created: datetime | None = None,
) -> bool:
    """Whether ``tag`` reads as newer than the tag ``than``, whatever the policy.

    Versions compare as versions, numbers as numbers, else build times when both are known;
    when none of these tells, the tag counts as newer (it is better shown than hidden).
    """
    if than is None:
        return True
    version, current_version = parse_version(tag), parse_version(than)
    if version is not None and current_version is not None:
        return version.key > current_version.key
    number, current_number = parse_number(tag), parse_number(than)
    if number is not None and current_number is not None:
        return number > current_number
    if created is not None and than_created is not None:
        return created > than_created
    return True


def _newer_than_current(verdict: TagVerdict, selection: Selection) -> bool:
    if verdict.reason is Reason.CHOSEN:
        return True
    current = next((v for v in selection.verdicts if v.is_current), None)
    return looks_newer(
        verdict.tag,
        than=selection.current_tag,
        created=verdict.candidate.created,
        than_created=current.candidate.created if current else None,
    )
