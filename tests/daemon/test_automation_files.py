"""Which files an automation run reads, and that writing them back changes no other byte."""

import pytest

from conveyor.daemon.automation_files import (
    normalize_paths,
    read_manifest_files,
    write_manifest_files,
)

from .automation_repo import write_tree


def test_paths_are_normalized_and_the_default_is_the_whole_repo():
    assert normalize_paths([]) == ("",)
    assert normalize_paths([".", "./apps/", "apps", "clusters\\prod"]) == (
        "",
        "apps",
        "clusters/prod",
    )


@pytest.mark.parametrize("path", ["/etc", "../other", "apps/../../x"])
def test_paths_outside_the_repo_are_refused(path):
    with pytest.raises(ValueError, match="relative to the repo root"):
        normalize_paths([path])


def test_only_yaml_files_under_the_paths_are_read_hidden_directories_skipped(tmp_path):
    write_tree(
        tmp_path,
        {
            "apps/web.yaml": "a: 1\n",
            "apps/nested/api.yml": "b: 2\n",
            "apps/README.md": "docs\n",
            "apps/.hidden/x.yaml": "c: 3\n",
            "clusters/prod.yaml": "d: 4\n",
            "top.yaml": "e: 5\n",
        },
    )
    (tmp_path / "apps" / "link.yaml").symlink_to(tmp_path / "top.yaml")
    read = read_manifest_files(tmp_path, ["apps", "top.yaml"])
    assert sorted(read.texts) == ["apps/nested/api.yml", "apps/web.yaml", "top.yaml"]
    assert read.problems == ()
    everything = read_manifest_files(tmp_path, [""])
    assert sorted(everything.texts) == [
        "apps/nested/api.yml",
        "apps/web.yaml",
        "clusters/prod.yaml",
        "top.yaml",
    ]


def test_missing_paths_and_files_that_are_not_utf8_are_reported_not_raised(tmp_path):
    write_tree(tmp_path, {"apps/ok.yaml": "a: 1\n"})
    (tmp_path / "apps" / "latin1.yaml").write_bytes(b"name: caf\xe9\n")
    read = read_manifest_files(tmp_path, ["apps", "gone"])
    assert list(read.texts) == ["apps/ok.yaml"]
    assert [(p.path, p.message.split(" (")[0]) for p in read.problems] == [
        ("gone", "no such file or directory in the repo"),
        ("apps/latin1.yaml", "not UTF-8"),
    ]


def test_crlf_and_a_byte_order_mark_survive_a_read_and_write(tmp_path):
    original = "\ufeffkind: Pod\r\nspec:\r\n  image: app:1\r\n".encode()
    (tmp_path / "pod.yaml").write_bytes(original)
    text = read_manifest_files(tmp_path, [""]).texts["pod.yaml"]
    write_manifest_files(tmp_path, {"pod.yaml": text.replace("app:1", "app:2")})
    assert (tmp_path / "pod.yaml").read_bytes() == original.replace(b"app:1", b"app:2")
