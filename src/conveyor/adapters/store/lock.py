"""One conveyor process per state directory: an exclusive advisory lock on ``STATE_DIR/lock``.

The SQLite files and the git mirrors under a state directory are written by one process at a
time: two daemons (or a daemon and ``conveyor automate --repo``) on one directory would fetch
into the same mirror and push from the same worktrees at once. :meth:`StateDirLock.acquire`
takes ``flock(LOCK_EX | LOCK_NB)`` on the lock file and writes the holder's pid into it; a
second process fails at once with :class:`StateDirLocked`, naming the directory and that pid.

The kernel drops the lock when the holder's file is closed, including when the process dies,
so a crash never leaves a stale lock behind; the file itself stays (removing it would let a
third process lock a new file while the second still holds the old one).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from types import TracebackType
from typing import Self

from conveyor.adapters.store.errors import StateDirLocked, StoreUnavailable

__all__ = ["LOCK_FILE", "StateDirLock"]

LOCK_FILE = "lock"


class StateDirLock:
    """The held lock of one state directory; release it (or leave the ``with``) when done."""

    def __init__(self, state_dir: Path, descriptor: int) -> None:
        self.state_dir = state_dir
        self._descriptor: int | None = descriptor

    def __repr__(self) -> str:
        held = "held" if self._descriptor is not None else "released"
        return f"StateDirLock({str(self.state_dir)!r}, {held})"

    @property
    def path(self) -> Path:
        return self.state_dir / LOCK_FILE

    @classmethod
    def acquire(cls, state_dir: Path) -> StateDirLock:
        """Lock ``state_dir`` (created if missing) for this process, or fail at once.

        Raises :class:`StateDirLocked` when another process holds it, and
        :class:`StoreUnavailable` when the directory or the lock file cannot be created.
        """
        path = state_dir / LOCK_FILE
        try:
            state_dir.mkdir(parents=True, exist_ok=True)
            # Not O_TRUNC: the holder's pid must stay readable until we own the lock.
            descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as e:
            raise StoreUnavailable(
                f"cannot create the lock file {path}: {e.strerror}; check that the state"
                " directory is writable"
            ) from e
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as e:
            holder = _read_pid(descriptor)
            os.close(descriptor)
            who = (
                f"pid {holder}" if holder is not None else "a process whose pid is not written yet"
            )
            raise StateDirLocked(
                f"the state directory {state_dir} is in use by another conveyor process ({who});"
                " stop that process, or give this one another --state-dir"
            ) from e
        except OSError as e:
            os.close(descriptor)
            raise StoreUnavailable(f"cannot lock {path}: {e.strerror}") from e
        try:
            os.ftruncate(descriptor, 0)
            os.pwrite(descriptor, f"{os.getpid()}\n".encode(), 0)
        except OSError as e:
            os.close(descriptor)  # also drops the lock
            raise StoreUnavailable(f"cannot write the lock file {path}: {e.strerror}") from e
        return cls(state_dir, descriptor)

    def release(self) -> None:
        """Give the directory up (closing the file drops the lock); calling twice is harmless."""
        descriptor, self._descriptor = self._descriptor, None
        if descriptor is None:
            return
        # Empty it first: a pid left behind would name a process that no longer holds the lock.
        with contextlib.suppress(OSError):
            os.ftruncate(descriptor, 0)
        os.close(descriptor)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()


def _read_pid(descriptor: int) -> int | None:
    """The pid the holder wrote, if it has written one yet."""
    try:
        text = os.pread(descriptor, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
