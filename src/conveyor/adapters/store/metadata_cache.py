"""A SQLite cache of registry metadata, so a restart does not fetch again what it knows.

Three tables, keyed by canonical repository name (``docker.io/library/nginx``):

- ``tag_lists``: the tags of a repository and when they were fetched;
- ``tags``: tag -> manifest digest and media type, and when that was last confirmed;
- ``images``: manifest digest (+ platform, for an index) -> created time and labels from the
  config blob. A digest names immutable content, so this never needs refetching; a tag that moved
  points at a new digest, which is simply not in here yet.

SQLite is synchronous: every call runs in a worker thread (``asyncio.to_thread``) behind one lock,
on one connection in WAL mode. The schema is versioned with ``PRAGMA user_version``.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from conveyor.adapters.store.sqlite_file import SqliteFile

# One script per schema version; a file at version N gets scripts N+1.. applied, in order.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE tag_lists (
        repository TEXT PRIMARY KEY,
        tags TEXT NOT NULL,             -- JSON array, in the registry's order
        fetched_at REAL NOT NULL        -- unix seconds
    );
    CREATE TABLE tags (
        repository TEXT NOT NULL,
        tag TEXT NOT NULL,
        digest TEXT NOT NULL,
        media_type TEXT NOT NULL,
        last_seen REAL NOT NULL,        -- when a manifest HEAD last confirmed the digest
        PRIMARY KEY (repository, tag)
    ) WITHOUT ROWID;
    CREATE TABLE images (
        repository TEXT NOT NULL,
        digest TEXT NOT NULL,
        platform TEXT NOT NULL,         -- the platform read from an index, '' for an image
        created TEXT,                   -- ISO 8601 with offset, NULL when the config has none
        labels TEXT NOT NULL,           -- JSON object
        fetched_at REAL NOT NULL,
        PRIMARY KEY (repository, digest, platform)
    ) WITHOUT ROWID;
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


def _from_timestamp(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)


@dataclass(frozen=True)
class CachedTagList:
    repository: str
    tags: tuple[str, ...]
    fetched_at: dt.datetime


@dataclass(frozen=True)
class CachedImage:
    """What the config blob of a digest said (for an index: of ``platform``'s image)."""

    repository: str
    digest: str
    platform: str
    created: dt.datetime | None
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TagDigest:
    """A tag and the manifest it points at, as a manifest HEAD reported it."""

    tag: str
    digest: str
    media_type: str


@dataclass(frozen=True)
class CachedTag:
    tag: str
    digest: str
    media_type: str
    last_seen: dt.datetime
    image: CachedImage | None  # None until the config blob of this digest was read


class MetadataCache(SqliteFile):
    """Registry metadata in one SQLite file; open with ``await MetadataCache.open(path)``."""

    label = "metadata cache"
    migrations = MIGRATIONS
    open_advice = " (delete it to start over: it is only a cache)"
    newer_advice = ", or delete the file (it is only a cache)"
    # A cache may lose its last writes in a power cut; it is refilled from the registry.
    synchronous = "NORMAL"

    # -- tag lists ------------------------------------------------------------------------------

    async def tag_list(self, repository: str) -> CachedTagList | None:
        def read(db: sqlite3.Connection) -> CachedTagList | None:
            row = db.execute(
                "SELECT tags, fetched_at FROM tag_lists WHERE repository = ?", (repository,)
            ).fetchone()
            if row is None:
                return None
            return CachedTagList(repository, tuple(json.loads(row[0])), _from_timestamp(row[1]))

        return await self._run(read)

    async def save_tag_list(
        self, repository: str, tags: Sequence[str], *, fetched_at: dt.datetime
    ) -> bool:
        """Record a fetched tag list; True when it differs from the one known before.

        Tags that left the list are forgotten (a tag deleted and pushed again is new).
        """
        encoded = json.dumps(list(tags), separators=(",", ":"))

        def write(db: sqlite3.Connection) -> bool:
            db.execute("BEGIN IMMEDIATE")
            row = db.execute(
                "SELECT tags FROM tag_lists WHERE repository = ?", (repository,)
            ).fetchone()
            changed = row is None or row[0] != encoded
            db.execute(
                "INSERT INTO tag_lists (repository, tags, fetched_at) VALUES (?, ?, ?)"
                " ON CONFLICT (repository) DO UPDATE SET tags = excluded.tags,"
                " fetched_at = excluded.fetched_at",
                (repository, encoded, fetched_at.timestamp()),
            )
            if changed and row is not None:
                gone = set(json.loads(row[0])) - set(tags)
                db.executemany(
                    "DELETE FROM tags WHERE repository = ? AND tag = ?",
                    [(repository, tag) for tag in gone],
                )
            db.execute("COMMIT")
            return changed

        return await self._run(write)

    # -- tags and images ------------------------------------------------------------------------

    async def tags(self, repository: str, *, platform: str = "") -> dict[str, CachedTag]:
        """Every known tag of ``repository`` with its digest and, if read, its image metadata."""

        def read(db: sqlite3.Connection) -> dict[str, CachedTag]:
            rows = db.execute(
                "SELECT t.tag, t.digest, t.media_type, t.last_seen, i.digest, i.created, i.labels"
                " FROM tags t LEFT JOIN images i ON i.repository = t.repository"
                " AND i.digest = t.digest AND i.platform = ?"
                " WHERE t.repository = ?",
                (platform, repository),
            ).fetchall()
            found: dict[str, CachedTag] = {}
            for tag, digest, media_type, last_seen, image_digest, created, labels in rows:
                image = (
                    _image(repository, digest, platform, created, labels) if image_digest else None
                )
                found[tag] = CachedTag(tag, digest, media_type, _from_timestamp(last_seen), image)
            return found

        return await self._run(read)

    async def images(
        self, repository: str, digests: Collection[str], *, platform: str = ""
    ) -> dict[str, CachedImage]:
        """The image metadata already known for any of ``digests``."""
        wanted = list(dict.fromkeys(digests))

        def read(db: sqlite3.Connection) -> dict[str, CachedImage]:
            found: dict[str, CachedImage] = {}
            # Chunks stay under SQLite's limit on bound parameters.
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                marks = ",".join("?" * len(chunk))
                # Only "?" placeholders are interpolated; every value is a bound parameter.
                query = f"SELECT digest, created, labels FROM images WHERE repository = ? AND platform = ? AND digest IN ({marks})"  # noqa: S608, E501
                rows = db.execute(query, (repository, platform, *chunk))
                for digest, created, labels in rows:
                    found[digest] = _image(repository, digest, platform, created, labels)
            return found

        return await self._run(read)

    async def save_tags(
        self,
        repository: str,
        tags: Sequence[TagDigest],
        *,
        images: Sequence[CachedImage] = (),
        seen_at: dt.datetime,
    ) -> None:
        """Record where tags point (confirmed at ``seen_at``) and newly read image metadata."""

        def write(db: sqlite3.Connection) -> None:
            db.execute("BEGIN IMMEDIATE")
            db.executemany(
                "INSERT INTO tags (repository, tag, digest, media_type, last_seen)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (repository, tag) DO UPDATE SET"
                " digest = excluded.digest, media_type = excluded.media_type,"
                " last_seen = excluded.last_seen",
                [(repository, t.tag, t.digest, t.media_type, seen_at.timestamp()) for t in tags],
            )
            db.executemany(
                "INSERT OR REPLACE INTO images"
                " (repository, digest, platform, created, labels, fetched_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (
                        repository,
                        i.digest,
                        i.platform,
                        i.created.isoformat() if i.created else None,
                        json.dumps(dict(i.labels), sort_keys=True),
                        seen_at.timestamp(),
                    )
                    for i in images
                ],
            )
            db.execute("COMMIT")

        await self._run(write)


def _image(
    repository: str, digest: str, platform: str, created: str | None, labels: str
) -> CachedImage:
    return CachedImage(
        repository=repository,
        digest=digest,
        platform=platform,
        created=dt.datetime.fromisoformat(created) if created else None,
        labels=json.loads(labels),
    )
