"""The SQLite metadata cache on real files in a temp dir."""

import datetime as dt
import sqlite3

import pytest

from conveyor.adapters.store import (
    SCHEMA_VERSION,
    CachedImage,
    MetadataCache,
    SchemaTooNew,
    StoreUnavailable,
    TagDigest,
)

pytestmark = pytest.mark.anyio

REPO = "127.0.0.1:5000/team/app"
T0 = dt.datetime(2025, 1, 1, 12, 0, tzinfo=dt.UTC)
CREATED = dt.datetime(2024, 12, 31, 8, 30, tzinfo=dt.UTC)


async def test_a_tag_list_survives_a_restart_and_changes_are_reported(tmp_path):
    path = tmp_path / "cache.db"
    async with await MetadataCache.open(path) as cache:
        assert await cache.tag_list(REPO) is None
        assert await cache.save_tag_list(REPO, ["1.0", "1.1"], fetched_at=T0) is True
        assert await cache.save_tag_list(REPO, ["1.0", "1.1"], fetched_at=T0) is False
    async with await MetadataCache.open(path) as reopened:
        known = await reopened.tag_list(REPO)
        assert known.tags == ("1.0", "1.1")
        assert known.fetched_at == T0
        assert await reopened.save_tag_list(REPO, ["1.0", "1.2"], fetched_at=T0) is True


async def test_tags_join_the_image_metadata_of_their_digest(tmp_path):
    async with await MetadataCache.open(tmp_path / "cache.db") as cache:
        await cache.save_tag_list(REPO, ["1.0", "latest"], fetched_at=T0)
        image = CachedImage(REPO, "sha256:a", "linux/amd64", CREATED, {"team": "blue"})
        await cache.save_tags(
            REPO,
            [TagDigest("1.0", "sha256:a", "m"), TagDigest("latest", "sha256:b", "m")],
            images=[image],
            seen_at=T0,
        )
        tags = await cache.tags(REPO, platform="linux/amd64")
        assert tags["1.0"].image == image
        assert tags["1.0"].last_seen == T0
        assert tags["latest"].digest == "sha256:b"
        assert tags["latest"].image is None
        # Another platform's metadata is a different entry.
        assert (await cache.tags(REPO, platform="linux/arm64"))["1.0"].image is None
        found = await cache.images(REPO, ["sha256:a", "sha256:b"], platform="linux/amd64")
        assert found == {"sha256:a": image}


async def test_a_moved_tag_keeps_the_old_image_known_by_digest(tmp_path):
    async with await MetadataCache.open(tmp_path / "cache.db") as cache:
        old = CachedImage(REPO, "sha256:old", "", CREATED, {})
        await cache.save_tags(
            REPO, [TagDigest("stable", "sha256:old", "m")], images=[old], seen_at=T0
        )
        later = T0 + dt.timedelta(hours=1)
        await cache.save_tags(REPO, [TagDigest("stable", "sha256:new", "m")], seen_at=later)
        stable = (await cache.tags(REPO))["stable"]
        assert (stable.digest, stable.image, stable.last_seen) == ("sha256:new", None, later)
        assert await cache.images(REPO, ["sha256:old"]) == {"sha256:old": old}


async def test_tags_that_left_the_list_are_forgotten(tmp_path):
    async with await MetadataCache.open(tmp_path / "cache.db") as cache:
        await cache.save_tag_list(REPO, ["a", "b"], fetched_at=T0)
        await cache.save_tags(
            REPO, [TagDigest("a", "sha256:1", "m"), TagDigest("b", "sha256:2", "m")], seen_at=T0
        )
        await cache.save_tag_list(REPO, ["b"], fetched_at=T0)
        assert set(await cache.tags(REPO)) == {"b"}


async def test_many_digests_are_looked_up_in_chunks(tmp_path):
    async with await MetadataCache.open(tmp_path / "cache.db") as cache:
        images = [CachedImage(REPO, f"sha256:{i}", "", None, {}) for i in range(1200)]
        await cache.save_tags(REPO, [], images=images, seen_at=T0)
        found = await cache.images(REPO, [i.digest for i in images] + ["sha256:x"])
        assert len(found) == 1200


async def test_the_file_is_in_wal_mode_with_the_current_schema_version(tmp_path):
    path = tmp_path / "cache.db"
    await (await MetadataCache.open(path)).close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


async def test_a_file_from_a_newer_conveyor_is_refused_with_the_fix(tmp_path):
    path = tmp_path / "cache.db"
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(SchemaTooNew, match="upgrade conveyor, or delete the file"):
        await MetadataCache.open(path)


async def test_a_file_that_is_not_a_database_is_reported(tmp_path):
    path = tmp_path / "cache.db"
    path.write_bytes(b"this is not sqlite, just some text that is long enough" * 20)
    with pytest.raises(StoreUnavailable, match=str(path)):
        await MetadataCache.open(path)
