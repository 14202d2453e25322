"""The signature gate's record: the marker of a revision that was not applied.

A refused revision changes nothing in the cluster, so its marker carries no object results; it
names the refused revision, why it was refused, and the revision the cluster still runs, so
``conveyor status`` can say both "this head was refused" and "this is what is running".
"""

from __future__ import annotations

from conveyor.core.sync.record import Outcome, Refusal, SyncMarker


def applied_revision(previous: SyncMarker | None) -> str:
    """The revision the cluster runs according to the last marker ("" when none was applied).

    A refusal applies nothing, so after one the running revision is the one the refusal kept;
    a sync that failed outright is still the last revision whose objects were attempted.
    """
    if previous is None or previous.dry_run:
        return ""
    if previous.outcome is Outcome.REFUSED:
        return previous.refusal.applied_revision if previous.refusal else ""
    return previous.revision


def refused_marker(
    previous: SyncMarker | None,
    *,
    name: str,
    revision: str,
    time: str,
    status: str,
    detail: str,
    signer: str = "",
    dry_run: bool = False,
) -> SyncMarker:
    """The marker recording that ``revision`` was refused (``status``: unsigned or bad)."""
    refusal = Refusal(
        status=status,
        detail=detail,
        signer=signer,
        applied_revision=applied_revision(previous),
    )
    return SyncMarker(
        name=name,
        revision=revision,
        time=time,
        outcome=Outcome.REFUSED,
        dry_run=dry_run,
        refusal=refusal,
    )


def describe(marker: SyncMarker) -> str:
    """One line saying what was refused and what still runs; "" for a marker without refusal."""
    refusal = marker.refusal
    if refusal is None:
        return ""
    running = (
        f"the cluster still runs {refusal.applied_revision}"
        if refusal.applied_revision
        else "nothing from this repo was ever applied"
    )
    return f"refused revision {marker.revision}: {refusal}; nothing was applied, {running}"
