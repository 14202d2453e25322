"""The release history in SQLite: who did what, when, why, in which commit, and how it went.

Unlike the metadata cache this is a record, not a cache: it lives in its own file (so deleting
the cache never loses history) with its own ``PRAGMA user_version`` schema version. Two tables:

- ``entries``: one row per operation (kind, user, message, time, commit, result, detail, and the
  workloads and image changes as JSON);
- ``entry_workloads``: (workload, entry) pairs, indexed, so "the history of one workload, newest
  first" is one index scan however long the history grows.

Calls run in a worker thread behind one lock on one connection (WAL mode), like the cache.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from typing import Any

from conveyor.adapters.store.sqlite_file import SqliteFile
from conveyor.core.commit_message import ReleasedChange
from conveyor.core.release_history import HistoryEntry, HistoryKind, HistoryResult

__all__ = ["HISTORY_SCHEMA_VERSION", "HistoryStore"]


HISTORY_MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE entries (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        user TEXT NOT NULL,
        message TEXT NOT NULL,
        time TEXT NOT NULL,             -- ISO 8601 with offset
        commit_id TEXT,                 -- NULL: no commit (dry run, nothing changed, failure)
        result TEXT NOT NULL,
        detail TEXT NOT NULL,
        workloads TEXT NOT NULL,        -- JSON array of workload ids, in the entry's order
        changes TEXT NOT NULL           -- JSON array of image changes
    );
    CREATE TABLE entry_workloads (
        workload TEXT NOT NULL,
        entry_id INTEGER NOT NULL REFERENCES entries (id),
        PRIMARY KEY (workload, entry_id)
    ) WITHOUT ROWID;
    """,
)
HISTORY_SCHEMA_VERSION = len(HISTORY_MIGRATIONS)
_COLUMNS = (
    "e.id, e.kind, e.user, e.message, e.time, e.commit_id, e.result, e.detail, e.workloads,"
    " e.changes"
)


class HistoryStore(SqliteFile):
    """Operation history in one SQLite file; open with ``await HistoryStore.open(path)``."""

    label = "history"
    migrations = HISTORY_MIGRATIONS
    newer_advice = " (the history is kept, do not delete it)"

    async def record(self, entry: HistoryEntry) -> HistoryEntry:
        """Store ``entry``; return it with its ``id``."""
        changes = json.dumps([_change_to_data(c) for c in entry.changes], separators=(",", ":"))

        def write(db: sqlite3.Connection) -> int:
            db.execute("BEGIN IMMEDIATE")
            cursor = db.execute(
                "INSERT INTO entries (kind, user, message, time, commit_id, result, detail,"
                " workloads, changes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    entry.kind.value,
                    entry.user,
                    entry.message,
                    entry.time.isoformat(),
                    entry.commit,
                    entry.result.value,
                    entry.detail,
                    json.dumps(list(entry.workloads)),
                    changes,
                ),
            )
            entry_id = int(cursor.lastrowid or 0)
            db.executemany(
                "INSERT OR IGNORE INTO entry_workloads (workload, entry_id) VALUES (?, ?)",
                [(workload, entry_id) for workload in entry.workloads],
            )
            db.execute("COMMIT")
            return entry_id

        entry_id = await self._run(write)
        return HistoryEntry(**{**_fields(entry), "id": entry_id})

    async def query(self, workload: str | None = None, *, limit: int = 50) -> list[HistoryEntry]:
        """Entries (of one workload, or all), newest first, at most ``limit``."""
        if limit < 1:
            return []

        def read(db: sqlite3.Connection) -> list[HistoryEntry]:
            if workload is None:
                rows = db.execute(
                    f"SELECT {_COLUMNS} FROM entries e ORDER BY e.id DESC LIMIT ?",  # noqa: S608
                    (limit,),
                ).fetchall()
            else:
                rows = db.execute(
                    f"SELECT {_COLUMNS} FROM entry_workloads w JOIN entries e"  # noqa: S608
                    " ON e.id = w.entry_id WHERE w.workload = ? ORDER BY e.id DESC LIMIT ?",
                    (workload, limit),
                ).fetchall()
            return [_entry(row) for row in rows]

        return await self._run(read)


def _fields(entry: HistoryEntry) -> dict[str, Any]:
    return {name: getattr(entry, name) for name in HistoryEntry.__dataclass_fields__}


def _change_to_data(change: ReleasedChange) -> dict[str, str | None]:
    return {
        "workload": change.workload_id,
        "container": change.container,
        "setter": change.setter_policy,
        "path": change.path,
        "old": change.old_image,
        "new": change.new_image,
    }


def _change_from_data(data: dict[str, Any]) -> ReleasedChange:
    return ReleasedChange(
        workload_id=data.get("workload"),
        container=data.get("container"),
        setter_policy=data.get("setter"),
        path=data.get("path"),
        old_image=str(data["old"]),
        new_image=str(data["new"]),
    )


def _entry(row: tuple[Any, ...]) -> HistoryEntry:
    entry_id, kind, user, message, time, commit, result, detail, workloads, changes = row
    return HistoryEntry(
        id=int(entry_id),
        kind=HistoryKind(kind),
        user=user,
        message=message,
        time=dt.datetime.fromisoformat(time),
        workloads=tuple(json.loads(workloads)),
        commit=commit,
        result=HistoryResult(result),
        detail=detail,
        changes=tuple(_change_from_data(c) for c in json.loads(changes)),
    )
