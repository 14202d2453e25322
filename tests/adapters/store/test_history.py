"""The SQLite history: record, query by workload newest first, limits, schema versioning."""

import datetime as dt
import sqlite3

import pytest

from conveyor.adapters.store import HISTORY_SCHEMA_VERSION, HistoryStore, SchemaTooNew
from conveyor.core.commit_message import ReleasedChange
from conveyor.core.release_history import HistoryEntry, HistoryKind, HistoryResult

pytestmark = pytest.mark.anyio

T0 = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)


def entry(kind, *workloads, minutes=0, commit="c0ffee", **fields):
    return HistoryEntry(
        kind=kind,
        user=fields.pop("user", "alice"),
        message=fields.pop("message", "why"),
        time=T0 + dt.timedelta(minutes=minutes),
        workloads=workloads,
        commit=commit,
        result=fields.pop("result", HistoryResult.SUCCEEDED),
        **fields,
    )


async def test_records_and_reads_back_every_field(tmp_path):
    change = ReleasedChange("shop:deployment/web", "app", None, None, "app:1", "app:2")
    async with await HistoryStore.open(tmp_path / "history.sqlite") as store:
        recorded = await store.record(
            entry(
                HistoryKind.RELEASE,
                "shop:deployment/web",
                "shop:deployment/api",
                changes=(change,),
                detail="all healthy",
                message="ship it\nsecond line",
            )
        )
        assert recorded.id is not None
        [read] = await store.query()
    assert read == recorded
    assert read.workloads == ("shop:deployment/web", "shop:deployment/api")  # as recorded
    assert read.changes == (change,)
    assert read.time == T0


async def test_queries_one_workload_newest_first_with_a_limit(tmp_path):
    async with await HistoryStore.open(tmp_path / "history.sqlite") as store:
        await store.record(entry(HistoryKind.RELEASE, "a:deployment/x", minutes=1, commit="1"))
        await store.record(entry(HistoryKind.LOCK, "a:deployment/y", minutes=2, commit="2"))
        await store.record(entry(HistoryKind.ROLLBACK, "a:deployment/x", minutes=3, commit="3"))
        await store.record(entry(HistoryKind.SYNC, minutes=4, commit=None))

        assert [e.commit for e in await store.query("a:deployment/x")] == ["3", "1"]
        assert [e.commit for e in await store.query("a:deployment/x", limit=1)] == ["3"]
        assert [e.kind for e in await store.query(limit=2)] == [
            HistoryKind.SYNC,
            HistoryKind.ROLLBACK,
        ]
        assert await store.query("a:deployment/none") == []
        assert await store.query(limit=0) == []


async def test_history_survives_reopening(tmp_path):
    path = tmp_path / "history.sqlite"
    async with await HistoryStore.open(path) as store:
        await store.record(entry(HistoryKind.AUTO_ROLLBACK, "a:deployment/x", user="conveyor"))
    async with await HistoryStore.open(path) as store:
        [read] = await store.query("a:deployment/x")
    assert (read.kind, read.user) == (HistoryKind.AUTO_ROLLBACK, "conveyor")


async def test_refuses_a_file_from_a_newer_schema(tmp_path):
    path = tmp_path / "history.sqlite"
    connection = sqlite3.connect(path)
    connection.execute(f"PRAGMA user_version = {HISTORY_SCHEMA_VERSION + 1}")
    connection.close()
    with pytest.raises(SchemaTooNew, match="upgrade conveyor"):
        await HistoryStore.open(path)
