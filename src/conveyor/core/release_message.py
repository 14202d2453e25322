"""Commit messages of release operations, and the trailers that make them machine-readable.

Every message conveyor writes for a person's request ends with trailers:

    Conveyor-Change: shop:deployment/web app example.com/app:1.0.0 -> example.com/app:1.1.0
    Conveyor-Kind: release
    Conveyor-User: alice

``Conveyor-Change`` is the automation's trailer (see :mod:`conveyor.core.commit_message`), one per
image changed; ``Conveyor-Kind`` names the operation (a :class:`HistoryKind` value) and
``Conveyor-User`` who asked. The subject says what happened; the person's message, when given,
is the body's first paragraph. A user name or message can never forge a trailer: the user is
folded onto one line, and a message line that looks like a ``Conveyor-`` trailer is quoted
(``> ``) so neither git nor :func:`parse_change_trailers` reads it as one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from conveyor.core.commit_message import ReleasedChange, commit_subject
from conveyor.core.release import AnnotationChange
from conveyor.core.release_history import HistoryKind

__all__ = [
    "KIND_TRAILER",
    "USER_TRAILER",
    "parse_operation_kind",
    "parse_operation_user",
    "policy_message",
    "release_message",
    "revert_message",
    "rollback_message",
]

KIND_TRAILER = "Conveyor-Kind"
USER_TRAILER = "Conveyor-User"
_TRAILER_LINE = re.compile(r"^\s*Conveyor-[A-Za-z]+\s*:", re.IGNORECASE)

_POLICY_VERBS = {
    "lock": "Lock",
    "unlock": "Unlock",
    "automate": "Automate",
    "deautomate": "Deautomate",
    "policy": "Set tag policy of",
}


def clean_user(user: str) -> str:
    """A user name fit for one trailer line (whitespace folded; never empty)."""
    return " ".join(user.split()) or "anonymous"


def _body(message: str) -> str:
    lines = [f"> {line}" if _TRAILER_LINE.match(line) else line for line in message.splitlines()]
    return "\n".join(lines).strip("\n")


def _compose(subject: str, message: str, details: Sequence[str], trailers: Sequence[str]) -> str:
    paragraphs = [subject]
    if message.strip():
        paragraphs.append(_body(message))
    if details:
        paragraphs.append("\n".join(details))
    paragraphs.append("\n".join(trailers))
    return "\n\n".join(paragraphs) + "\n"


def _trailers(changes: Sequence[ReleasedChange], *, kind: HistoryKind, user: str) -> list[str]:
    return [
        *(change.trailer() for change in changes),
        f"{KIND_TRAILER}: {kind.value}",
        f"{USER_TRAILER}: {clean_user(user)}",
    ]


def release_message(changes: Sequence[ReleasedChange], *, user: str, message: str = "") -> str:
    """``Release IMAGE to N workloads`` (or ``Update images of N workloads``) and its trailers."""
    return _compose(
        commit_subject(changes),
        message,
        [change.summary_line() for change in changes],
        _trailers(changes, kind=HistoryKind.RELEASE, user=user),
    )


def rollback_message(
    workload_id: str,
    changes: Sequence[ReleasedChange],
    *,
    user: str,
    message: str = "",
    locked: bool = False,
) -> str:
    """``Roll back W to IMAGE``; ``locked`` when the same commit locks an automated workload."""
    images = ", ".join(dict.fromkeys(change.new_image for change in changes))
    details = [change.summary_line() for change in changes]
    if locked:
        details.append(
            f"Locked {workload_id}: image automation would release the newer image again;"
            " unlock it to resume automation."
        )
    return _compose(
        f"Roll back {workload_id} to {images}",
        message,
        details,
        _trailers(changes, kind=HistoryKind.ROLLBACK, user=user),
    )


def revert_message(
    *,
    release_subject: str,
    release_commit: str,
    changes: Sequence[ReleasedChange],
    reason: str,
    locked: Sequence[str],
    user: str = "conveyor",
) -> str:
    """The automatic rollback's commit: the release's changes undone, the failed workloads
    locked, and why."""
    details = [f"This reverts commit {release_commit}: {reason}"]
    if locked:
        details.append(f"Locked {', '.join(locked)} until someone looks at it.")
    return _compose(
        f'Revert "{release_subject}"',
        "",
        details,
        _trailers(changes, kind=HistoryKind.AUTO_ROLLBACK, user=user),
    )


def policy_message(
    action: str,
    changes: Sequence[AnnotationChange],
    *,
    user: str,
    message: str = "",
    container: str | None = None,
) -> str:
    workloads = list(dict.fromkeys(change.workload_id for change in changes))
    what = workloads[0] if len(workloads) == 1 else f"{len(workloads)} workloads"
    subject = f"{_POLICY_VERBS[action]} {what}"
    if action == "policy":
        subject += f" container {container}"
    details = [
        f"- {c.workload_id}: set {c.key}={c.new_value!r}"
        if c.new_value is not None
        else f"- {c.workload_id}: remove {c.key}"
        for c in changes
    ]
    kind = HistoryKind(action)
    return _compose(
        subject,
        message,
        details,
        [f"{KIND_TRAILER}: {kind.value}", f"{USER_TRAILER}: {clean_user(user)}"],
    )


def _trailer_value(message: str, key: str) -> str | None:
    found = None
    for line in message.splitlines():
        name, colon, value = line.partition(":")
        if colon and name == key:
            found = value.strip()
    return found


def parse_operation_kind(message: str) -> HistoryKind | None:
    """The ``Conveyor-Kind`` of a commit message; None when absent or unknown."""
    value = _trailer_value(message, KIND_TRAILER)
    try:
        return HistoryKind(value) if value else None
    except ValueError:
        return None


def parse_operation_user(message: str) -> str | None:
    return _trailer_value(message, USER_TRAILER)
