from conveyor.core.sync.loading import is_manifest_file, load_manifests
from conveyor.core.sync.objects import ObjectRef, Source


def cm(name: str, namespace: str = "apps", extra: str = "") -> str:
    return (
        f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n"
        f"  namespace: {namespace}\n{extra}data:\n  k: v\n"
    )


def test_multi_document_files_yield_one_manifest_per_document_with_its_index():
    result = load_manifests({"a.yaml": cm("one") + "---\n" + cm("two") + "---\n"})
    assert [(m.ref.name, m.source) for m in result.manifests] == [
        ("one", Source("a.yaml", 0)),
        ("two", Source("a.yaml", 1)),
    ]
    assert result.problems == ()


def test_kind_list_items_become_manifests():
    text = (
        "apiVersion: v1\nkind: List\nitems:\n"
        "- {apiVersion: v1, kind: ConfigMap, metadata: {name: a, namespace: x}}\n"
        "- {apiVersion: v1, kind: Secret, metadata: {name: b, namespace: x}}\n"
    )
    result = load_manifests({"list.yml": text})
    assert [m.ref for m in result.manifests] == [
        ObjectRef("v1", "ConfigMap", "x", "a"),
        ObjectRef("v1", "Secret", "x", "b"),
    ]


def test_documents_that_are_not_objects_are_reported_with_file_document_and_reason():
    text = cm("ok") + "---\nkind: ConfigMap\nmetadata: {name: x}\n---\n- a list\n---\n"
    result = load_manifests({"dir/bad.yaml": text})
    assert [m.ref.name for m in result.manifests] == ["ok"]
    assert [(p.source, p.reason) for p in result.problems] == [
        (Source("dir/bad.yaml", 1), "not a Kubernetes object: missing apiVersion"),
        (Source("dir/bad.yaml", 2), "not a Kubernetes object: a YAML list, not a mapping"),
    ]


def test_malformed_yaml_keeps_the_documents_before_it_and_names_the_broken_one():
    text = cm("first") + "---\n" + "metadata: {name: [unclosed\n"
    result = load_manifests({"broken.yaml": text, "good.yaml": cm("other")})
    assert sorted(m.ref.name for m in result.manifests) == ["first", "other"]
    (problem,) = result.problems
    assert problem.source == Source("broken.yaml", 1)
    assert problem.reason.startswith("not valid YAML: ")
    assert "line" in problem.reason


def test_ignore_annotations_set_objects_aside():
    conveyor = cm("a", extra='  annotations: {conveyor.dev/ignore: "true"}\n')
    flux = cm("b", extra="  annotations: {fluxcd.io/ignore: 'true'}\n")
    not_ignored = cm("c", extra='  annotations: {conveyor.dev/ignore: "false"}\n')
    result = load_manifests({"a.yaml": conveyor, "b.yaml": flux, "c.yaml": not_ignored})
    assert [m.ref.name for m in result.manifests] == ["c"]
    assert [r.name for r in result.ignored] == ["a", "b"]


def test_a_duplicate_object_is_reported_and_the_first_definition_kept():
    result = load_manifests({"a.yaml": cm("same"), "b.yaml": cm("same")})
    assert [m.source.file for m in result.manifests] == ["a.yaml"]
    (problem,) = result.problems
    assert problem.source == Source("b.yaml", 0)
    assert "already defined in a.yaml (document 0)" in problem.reason


def test_empty_documents_and_comments_are_silently_skipped():
    # A comment before the first separator belongs to document 0, which is empty.
    result = load_manifests({"a.yaml": "# just a comment\n---\n---\n" + cm("x")})
    assert [m.source.document for m in result.manifests] == [1]
    assert result.problems == ()


def test_manifest_file_suffixes():
    assert is_manifest_file("a/b.yaml")
    assert is_manifest_file("b.yml")
    assert not is_manifest_file("README.md")
    assert not is_manifest_file("kustomization.json")
