"""One SQLite file used from async code: the shared base of conveyor's stores.

SQLite is synchronous, so every call runs in a worker thread (``asyncio.to_thread``) behind one
lock per file. Opening creates the directory, switches to WAL, and applies the subclass's schema
migrations in order, each with its ``user_version`` bump in one transaction; a file written by a
newer conveyor is refused rather than guessed at.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import ClassVar, Self, TypeVar

from conveyor.adapters.store.errors import SchemaTooNew, StoreUnavailable

T = TypeVar("T")


class SqliteFile:
    """Subclasses set what the file is called and how its schema grows."""

    label: ClassVar[str]
    """How messages name the file, e.g. ``"history"``."""
    migrations: ClassVar[tuple[str, ...]]
    """SQL scripts; the schema version is how many of them were applied."""
    open_advice: ClassVar[str] = ""
    """Appended to the message when the file cannot be opened."""
    newer_advice: ClassVar[str] = ""
    """Appended to the message when the file comes from a newer conveyor."""
    synchronous: ClassVar[str] = "FULL"

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self._connection = connection
        self._lock = threading.Lock()
        self.path = path

    def __repr__(self) -> str:
        return f"{type(self).__name__}(path={str(self.path)!r})"

    @classmethod
    async def open(cls, path: Path) -> Self:
        return await asyncio.to_thread(cls._open, path)

    @classmethod
    def _open(cls, path: Path) -> Self:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: transactions are explicit (BEGIN ... COMMIT).
            connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            connection.execute("PRAGMA busy_timeout = 5000")
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute(f"PRAGMA synchronous = {cls.synchronous}")
            cls._migrate(connection, path)
        except sqlite3.Error as e:
            raise StoreUnavailable(
                f"cannot open the {cls.label} {path}: {e}; check the file's permissions and free"
                f" disk space{cls.open_advice}"
            ) from e
        except OSError as e:
            raise StoreUnavailable(f"cannot create the directory of {path}: {e.strerror}") from e
        return cls(connection, path)

    @classmethod
    def _migrate(cls, connection: sqlite3.Connection, path: Path) -> None:
        latest = len(cls.migrations)
        version: int = connection.execute("PRAGMA user_version").fetchone()[0]
        if version > latest:
            raise SchemaTooNew(
                f"{path} has {cls.label} schema {version}, this conveyor knows up to {latest}:"
                f" upgrade conveyor{cls.newer_advice}"
            )
        for number in range(version + 1, latest + 1):
            # executescript commits first; the migration and its version bump are one transaction.
            connection.executescript(
                f"BEGIN;\n{cls.migrations[number - 1]}\nPRAGMA user_version = {number};\nCOMMIT;"
            )

    async def close(self) -> None:
        await asyncio.to_thread(self._connection.close)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def _run(self, operation: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``operation`` on the connection in a worker thread; roll back what it left open."""

        def locked() -> T:
            with self._lock:
                try:
                    return operation(self._connection)
                except sqlite3.Error as e:
                    if self._connection.in_transaction:
                        self._connection.rollback()
                    raise StoreUnavailable(
                        f"the {self.label} {self.path} failed: {e}; check disk space and that no"
                        " other conveyor holds it locked"
                    ) from e

        return await asyncio.to_thread(locked)
