"""Errors of the store adapter (the tree is drawn in the package docstring)."""

from __future__ import annotations


class StoreError(Exception):
    """Anything that went wrong reading or writing conveyor's SQLite store."""


class StoreUnavailable(StoreError):
    """The database file cannot be opened, read or written (permissions, disk, locks)."""


class SchemaTooNew(StoreError):
    """The file was written by a newer conveyor; this one does not know its schema."""


class StateDirLocked(StoreError):
    """Another process holds the state directory's lock (the message names its pid)."""
