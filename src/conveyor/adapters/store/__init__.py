"""The store adapter: conveyor's embedded SQLite database.

:class:`MetadataCache` keeps what registry scans learned (tag lists, tag -> digest, created times
and labels per digest) so a restart does not fetch again what is already known.
:class:`HistoryStore` records every release, rollback, policy change, sync and drift event (in
its own file: a record, not a cache). :class:`StateDirLock` keeps a state directory (these
files and the git mirrors beside them) to one process at a time.
SQLite runs in a worker thread so the daemon's event loop never blocks on disk.

Errors::

    StoreError
    ├── StoreUnavailable   the file cannot be opened, read or written
    ├── SchemaTooNew       written by a newer conveyor (its schema version is unknown here)
    └── StateDirLocked     another process holds the state directory (the message names it)
"""

from conveyor.adapters.store.errors import (
    SchemaTooNew,
    StateDirLocked,
    StoreError,
    StoreUnavailable,
)
from conveyor.adapters.store.history import HISTORY_SCHEMA_VERSION, HistoryStore
from conveyor.adapters.store.lock import LOCK_FILE, StateDirLock
from conveyor.adapters.store.metadata_cache import (
    SCHEMA_VERSION,
    CachedImage,
    CachedTag,
    CachedTagList,
    MetadataCache,
    TagDigest,
)

__all__ = [
    "HISTORY_SCHEMA_VERSION",
    "LOCK_FILE",
    "SCHEMA_VERSION",
    "CachedImage",
    "CachedTag",
    "CachedTagList",
    "HistoryStore",
    "MetadataCache",
    "SchemaTooNew",
    "StateDirLock",
    "StateDirLocked",
    "StoreError",
    "StoreUnavailable",
    "TagDigest",
]
