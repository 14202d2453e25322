"""What the release history records: one entry per release, rollback, policy change, sync or drift.

Plain data, shared by the store (which persists it), the release manager (which writes it) and
rollback planning (which reads it to find "the image before the current release"). Each entry
says who (``user``), what (``kind``, ``workloads``, ``changes``), when (``time``), why
(``message``), which commit, and how it went (``result``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from conveyor.core.commit_message import ReleasedChange

__all__ = ["HistoryEntry", "HistoryKind", "HistoryResult"]


class HistoryKind(StrEnum):
    RELEASE = "release"
    ROLLBACK = "rollback"
    AUTO_ROLLBACK = "auto_rollback"
    LOCK = "lock"
    UNLOCK = "unlock"
    AUTOMATE = "automate"
    DEAUTOMATE = "deautomate"
    POLICY = "policy"
    SYNC = "sync"
    DRIFT = "drift"
    OUT_OF_BAND = "out_of_band"


class HistoryResult(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # the commit landed but the workloads never became healthy, or an error
    ROLLED_BACK = "rolled_back"  # failed its health check and was reverted automatically
    UNCHANGED = "unchanged"  # nothing to do: the repo already said so


@dataclass(frozen=True)
class HistoryEntry:
    """One recorded operation. ``id`` is set by the store; None before it is recorded."""

    kind: HistoryKind
    user: str
    message: str
    time: datetime
    workloads: tuple[str, ...]
    commit: str | None
    result: HistoryResult
    changes: tuple[ReleasedChange, ...] = ()
    detail: str = ""
    """A sentence on how it went: the health verdicts, the error, the revert commit."""
    id: int | None = None

    def changes_for(self, workload_id: str) -> tuple[ReleasedChange, ...]:
        return tuple(c for c in self.changes if c.workload_id == workload_id)
