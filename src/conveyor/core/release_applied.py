"""Was a release's commit applied? The check between a release's sync and its health wait.

A release (or rollback) is a commit, pushed, then synced. Waiting for the changed workloads to
become healthy only makes sense once the sync applied that commit to them: otherwise the wait
runs out its whole deadline, and an automatic rollback would "revert" a change the cluster never
saw. The commit was not applied when:

- the sync refused the revision (its signature is not trusted): nothing was applied;
- the sync ran on a revision that neither is the commit nor descends from it;
- the sync failed outright, or failed the changed workloads' objects, or could not read the
  files that define them.

Whether one revision contains another is a question for git, so the caller answers it
(``contains_commit``, about the revision the sync applied: see :func:`synced_revision`); the
rest is decided here, and the answer is a sentence saying why and what to check next.

The same check serves policy changes (lock, unlock, automate, deautomate, tag policy): they too
are commits a sync applies. :func:`unapplied_detail` words the outcome for each kind: a policy
change not applied still holds where conveyor reads policies (the files in git), only the
annotations in the cluster lag; saying so keeps a "failed" lock from being taken for no lock.
"""

from __future__ import annotations

from collections.abc import Sequence

from conveyor.core.release import LocatedWorkload
from conveyor.core.release_diff import object_ref
from conveyor.core.release_history import HistoryKind
from conveyor.core.sync.record import Action, Outcome, SyncMarker
from conveyor.core.sync.refusal import applied_revision

__all__ = ["synced_revision", "unapplied_detail", "unapplied_reason"]

_SHORT = 12  # characters of a commit id in messages
_FAILURES_SHOWN = 3
_POLICY_KINDS = frozenset(
    {
        HistoryKind.LOCK,
        HistoryKind.UNLOCK,
        HistoryKind.AUTOMATE,
        HistoryKind.DEAUTOMATE,
        HistoryKind.POLICY,
    }
)


def synced_revision(marker: SyncMarker) -> str:
    """The revision whose objects the marker's sync applied ("" when none): for a refusal, the
    revision the cluster kept running, not the refused one."""
    return applied_revision(marker)


def unapplied_reason(
    marker: SyncMarker,
    *,
    commit: str,
    contains_commit: bool,
    workloads: Sequence[LocatedWorkload],
    default_namespace: str,
) -> str | None:
    """Why ``commit`` did not reach ``workloads`` in the sync that ``marker`` records; None
    when it did.

    ``contains_commit``: whether :func:`synced_revision` of ``marker`` is ``commit`` or one of
    its descendants.
    """
    short = commit[:_SHORT]
    if not contains_commit:
        if marker.outcome is Outcome.REFUSED:
            return _refused(marker, short)
        return (
            f"the sync applied {marker.revision[:_SHORT] or 'nothing'}, which does not contain"
            f" commit {short}; check whether the branch was force-pushed, then sync again"
        )
    if marker.outcome is Outcome.REFUSED:
        return None  # a later head was refused, but the cluster already runs this commit
    if marker.outcome is Outcome.FAILED:
        return (
            f"the sync of {marker.revision[:_SHORT]} applied nothing: {_failures(marker)};"
            " fix what it names (see `conveyor status`) and sync again"
        )
    problems = [
        problem
        for located in workloads
        if (problem := _workload_problem(marker, located, default_namespace)) is not None
    ]
    if not problems:
        return None
    return (
        f"the sync of {marker.revision[:_SHORT]} did not apply commit {short} to "
        + "; ".join(problems)
        + "; fix the manifest or the cluster as named, then sync again"
    )


def unapplied_detail(kind: HistoryKind, reason: str, *, commit: str) -> str:
    """What the history (and the operation's answer) says about a ``kind`` operation whose
    ``commit`` was not applied, ``reason`` being :func:`unapplied_reason`'s answer."""
    if kind not in _POLICY_KINDS:
        return reason
    return (
        f"{reason}. The {kind.value} itself holds: commit {commit[:_SHORT]} is in git, where"
        " conveyor's releases and automation read it; only the cluster's copy of the"
        " annotations is behind until a sync applies it"
    )


def _refused(marker: SyncMarker, short: str) -> str:
    refusal = marker.refusal
    why = str(refusal) if refusal is not None else "its signature is not trusted"
    refused = marker.revision[:_SHORT]
    which = f"commit {short}" if refused == short else f"commit {refused} (it holds {short})"
    running = (
        f"the cluster still runs {refusal.applied_revision[:_SHORT]}"
        if refusal is not None and refusal.applied_revision
        else "nothing from this repo was applied yet"
    )
    return (
        f"the sync refused {which}: {why}; nothing was applied and {running}. The commit stays"
        " in the repo: sign the branch head with a key the daemon trusts (--allowed-signers or"
        " --gpg-home), or give conveyor a signing key for its own commits, then sync again"
    )


def _workload_problem(
    marker: SyncMarker, located: LocatedWorkload, default_namespace: str
) -> str | None:
    key = object_ref(located, default_namespace=default_namespace).key()
    result = next((r for r in marker.results if r.ref.key() == key), None)
    if result is not None:
        if result.action is Action.FAILED:
            return f"{located.id}: {result.reason or 'the apply failed'}"
        return None
    in_file = [f.reason for f in marker.failures if f.file == located.path]
    if in_file:
        return f"{located.id}: its file {located.path} could not be read: {in_file[0]}"
    return (
        f"{located.id}: the sync did not apply it (an ignore annotation, or a file it could not"
        " read: check `conveyor status`)"
    )


def _failures(marker: SyncMarker) -> str:
    shown = [str(f) for f in marker.failures[:_FAILURES_SHOWN]]
    more = len(marker.failures) - len(shown)
    if more > 0:
        shown.append(f"and {more} more")
    return "; ".join(shown) or "no failure recorded"
