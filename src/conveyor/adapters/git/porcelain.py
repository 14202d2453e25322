"""Reading ``git push --porcelain``: did the push land, did the remote move, or was it refused?

Git prints one line per ref, ``<flag> TAB <from>:<to> TAB <summary>``, between ``To <url>`` and
``Done``. The flag says what happened (`` `` fast-forward, ``+`` forced, ``-`` deleted, ``*`` new,
``=`` up to date, ``!`` rejected or failed); the summary says why. Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum


class PushVerdict(Enum):
    ACCEPTED = "accepted"  # the remote ref now points at what we pushed
    UP_TO_DATE = "up-to-date"  # nothing to do: the remote already had it
    REMOTE_MOVED = "remote-moved"  # someone else pushed first: fetch, redo the edit, retry
    REFUSED = "refused"  # refused for another reason (hook, protection, permission): no retry
    UNKNOWN = "unknown"  # no ref line at all: git failed before talking refs (auth, network)


@dataclass(frozen=True)
class RefUpdate:
    """One ref line of ``git push --porcelain``."""

    flag: str
    source: str
    destination: str
    summary: str  # e.g. "[rejected] (fetch first)" or "abc123..def456"

    @property
    def reason(self) -> str:
        """The parenthesised reason git gives for a rejection, or ''."""
        match = re.search(r"\((.*)\)\s*$", self.summary)
        return match.group(1) if match else ""


# Rejections that mean "the remote has commits you do not": the normal race with other writers.
_MOVED_REASONS = ("non-fast-forward", "fetch first", "stale info")
# A remote-side ref lock race: receive-pack saw the ref move under it while updating.
_MOVED_REMOTE_FAILURES = ("cannot lock ref", "incorrect old value", "is at ")


def parse_push_porcelain(stdout: str) -> tuple[RefUpdate, ...]:
    """The ref lines of ``git push --porcelain`` output (other lines are ignored)."""
    updates: list[RefUpdate] = []
    for line in stdout.splitlines():
        parts = line.split("\t")
        if len(parts) != 3 or len(parts[0]) != 1 or ":" not in parts[1]:
            continue
        source, _, destination = parts[1].partition(":")
        updates.append(RefUpdate(parts[0], source, destination, parts[2].strip()))
    return tuple(updates)


def push_verdict(updates: tuple[RefUpdate, ...], destination: str) -> PushVerdict:
    """What happened to ``destination`` (a full ref name, e.g. ``refs/heads/main``)."""
    for update in updates:
        if update.destination != destination:
            continue
        if update.flag in (" ", "*"):
            return PushVerdict.ACCEPTED
        if update.flag == "=":
            return PushVerdict.UP_TO_DATE
        if update.flag == "!":
            if update.summary.startswith("[rejected]") and update.reason in _MOVED_REASONS:
                return PushVerdict.REMOTE_MOVED
            if update.summary.startswith("[remote") and any(
                marker in update.reason for marker in _MOVED_REMOTE_FAILURES
            ):
                return PushVerdict.REMOTE_MOVED
            return PushVerdict.REFUSED
        # "+" (forced) or "-" (deleted) never come from conveyor's pushes; treat as refused.
        return PushVerdict.REFUSED
    return PushVerdict.UNKNOWN
