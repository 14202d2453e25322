import pytest

from conveyor.daemon.sync_files import read_manifest_texts

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "asyncio"


async def test_reads_yaml_files_under_the_paths_skipping_hidden_dirs_and_other_files(tmp_path):
    (tmp_path / "prod" / "nested").mkdir(parents=True)
    (tmp_path / "prod" / "a.yaml").write_text("a: 1\n")
    (tmp_path / "prod" / "nested" / "b.yml").write_text("b: 2\n")
    (tmp_path / "prod" / "notes.txt").write_text("no\n")
    (tmp_path / "prod" / ".git").mkdir()
    (tmp_path / "prod" / ".git" / "c.yaml").write_text("c: 3\n")
    (tmp_path / "staging.yaml").write_text("s: 1\n")
    found = await read_manifest_texts(tmp_path, ("prod",))
    assert found.texts == {"prod/a.yaml": "a: 1\n", "prod/nested/b.yml": "b: 2\n"}
    assert found.problems == ()


async def test_missing_paths_escaping_paths_and_unreadable_files_are_problems(tmp_path):
    (tmp_path / "bad.yaml").write_bytes(b"\xff\xfe not utf-8")
    found = await read_manifest_texts(tmp_path, ("bad.yaml", "nope", "../outside"))
    assert found.texts == {}
    reasons = {p.source.file: p.reason for p in found.problems}
    assert reasons["bad.yaml"].startswith("cannot read the file")
    assert reasons["nope"] == "no such file or directory in the repo"
    assert reasons["../outside"] == "path leaves the repository; skipped"
