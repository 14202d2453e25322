"""Workload discovery: containers, image spans, annotations, settings and setter markers."""

import pytest

from conveyor.core.workload_settings import read_automation_settings, tag_policy_annotation
from conveyor.core.workloads import POD_SPEC_PATHS, scan_manifest
from conveyor.core.yamltext import ManifestSyntaxError


def pod_spec_document(kind: str, image: str = "nginx:1.0") -> str:
    """A minimal object of ``kind`` with one container and one initContainer at its pod spec."""
    path = POD_SPEC_PATHS[kind]
    lines = [f"apiVersion: v1\nkind: {kind}\nmetadata:\n  name: w\n"]
    indent = ""
    for key in path:
        lines.append(f"{indent}{key}:\n")
        indent += "  "
    lines.append(f"{indent}initContainers:\n{indent}- name: init\n{indent}  image: busybox\n")
    lines.append(f"{indent}containers:\n{indent}- name: main\n{indent}  image: {image}\n")
    return "".join(lines)


@pytest.mark.parametrize("kind", sorted(POD_SPEC_PATHS))
def test_every_workload_kind_is_found_with_its_containers_and_init_containers(kind):
    text = pod_spec_document(kind)
    (workload,) = scan_manifest(text).workloads
    assert workload.kind == kind
    assert workload.id == f"default:{kind.lower()}/w"
    assert [(c.name, c.init, c.image) for c in workload.containers] == [
        ("init", True, "busybox"),
        ("main", False, "nginx:1.0"),
    ]
    for container in workload.containers:
        span = container.image_span
        assert text[span.start : span.end] == span.raw == container.image


def test_other_kinds_are_objects_but_not_workloads():
    scan = scan_manifest("apiVersion: v1\nkind: Service\nmetadata: {name: s}\n")
    assert scan.workloads == ()
    assert scan.skipped == ()


def test_spans_include_quotes_and_skip_anchors_and_count_crlf_and_characters():
    text = (
        "# é ü 🚀\r\napiVersion: v1\r\nkind: Pod\r\nmetadata: {name: p, namespace: ns}\r\n"
        "spec:\r\n  containers:\r\n  - name: a\r\n    image: &img 'nginx:1.0'\r\n"
        '  - {name: b, image: *img}\r\n  - name: c\r\n    image: "redis"\r\n'
    )
    (workload,) = scan_manifest(text).workloads
    assert workload.id == "ns:pod/p"
    a, b, c = workload.containers
    assert a.image_span.raw == "'nginx:1.0'" and a.image_span.style == "single"
    assert text[a.image_span.start : a.image_span.end] == "'nginx:1.0'"
    assert b.image_span == a.image_span  # the alias points at the anchored value
    assert c.image_span.raw == '"redis"' and c.image_span.style == "double"
    assert (a.image_span.line, a.image_span.column) == (8, 17)


def test_a_byte_order_mark_does_not_shift_spans():
    text = (
        "\ufeffkind: Pod\napiVersion: v1\nmetadata: {name: p}\n"
        "spec: {containers: [{name: a, image: x:1}]}\n"
    )
    (container,) = scan_manifest(text).workloads[0].containers
    assert text[container.image_span.start : container.image_span.end] == "x:1"


def test_multi_documents_and_kind_list_items_are_located():
    text = (
        "---\n---\n"
        + pod_spec_document("Pod")
        + "...\n---\nimage: helm-values\n---\n- just a list\n---\n"
        + "apiVersion: v1\nkind: List\nitems:\n"
        + "- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: c}\n"
        + "- 42\n"
        + "- apiVersion: v1\n  kind: Pod\n  metadata: {name: q}\n  spec:\n    containers:\n"
        + "    - name: x\n      image: x\n"
    )
    scan = scan_manifest(text)
    assert [(w.id, w.document_index, w.item_index) for w in scan.workloads] == [
        ("default:pod/w", 1, None),
        ("default:pod/q", 4, 2),
    ]
    assert [(s.document_index, s.item_index, s.line) for s in scan.skipped] == [
        (2, None, 16),
        (3, None, 18),
        (4, 1, 26),
    ]
    assert all("not a Kubernetes object" in s.reason for s in scan.skipped)


def test_containers_without_an_image_are_skipped_and_merge_keys_are_followed():
    text = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n"
        "spec:\n  template:\n    spec:\n      containers:\n"
        "      - name: patched-only\n"
        "      - &base {name: base, image: 'app:1'}\n"
        "      - <<: *base\n        name: copy\n"
    )
    (workload,) = scan_manifest(text).workloads
    assert [(c.name, c.image) for c in workload.containers] == [
        ("base", "app:1"),
        ("copy", "app:1"),
    ]
    assert workload.containers[0].image_span == workload.containers[1].image_span


def test_malformed_yaml_names_the_document_and_the_line():
    text = "a: 1\n---\nb: 2\n---\nc: x\n  d: 2\n"
    with pytest.raises(ManifestSyntaxError) as caught:
        scan_manifest(text, source="apps/bad.yaml")
    assert caught.value.document_index == 2
    assert caught.value.line == 6
    assert "apps/bad.yaml" in str(caught.value)
    assert "document 2" in str(caught.value)


def test_bad_characters_are_a_syntax_error_too():
    with pytest.raises(ManifestSyntaxError) as caught:
        scan_manifest("a: 1\nb: \x07\n")
    assert caught.value.line == 2


def test_annotations_carry_spans_and_automation_settings():
    text = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n  annotations:\n"
        '    conveyor.dev/automated: "true"\n'
        "    conveyor.dev/locked: 'TRUE'\n"
        "    conveyor.dev/locked-reason: incident 42\n"
        "    conveyor.dev/tag.web: semver:~1.2\n"
        "    fluxcd.io/tag.web: glob:*\n"
        "    filter.fluxcd.io/worker: 'regexp:^main-'\n"
        "spec: {template: {spec: {containers: [{name: web, image: w:1}]}}}\n"
    )
    (workload,) = scan_manifest(text).workloads
    by_key = {a.key: a for a in workload.annotations}
    span = by_key["conveyor.dev/locked"].value_span
    assert text[span.start : span.end] == "'TRUE'"
    settings = workload.automation
    assert settings.automated and settings.locked
    assert settings.lock_reason == "incident 42"
    assert settings.tag_policy("web").policy == "semver:~1.2"
    assert settings.tag_policy("web").annotation == tag_policy_annotation("web")
    assert settings.tag_policy("worker").policy == "regexp:^main-"
    assert settings.tag_policy("other") is None


def test_flux_v1_annotations_are_read_unchanged():
    settings = read_automation_settings(
        {
            "fluxcd.io/automated": "true",
            "fluxcd.io/locked": "true",
            "fluxcd.io/locked_msg": "bad release",
            "fluxcd.io/locked_user": "ana",
            "fluxcd.io/tag.app": "semver:~2",
            "filter.fluxcd.io/app": "glob:2.*",
            "flux.weave.works/tag.old": "glob:*",
        }
    )
    assert (settings.automated, settings.locked) == (True, True)
    assert (settings.lock_reason, settings.locked_by) == ("bad release", "ana")
    # fluxcd.io/tag.<c> outranks filter.fluxcd.io/<c>, as conveyor's own key outranks both
    assert [(p.container, p.policy) for p in settings.tag_policies] == [
        ("app", "semver:~2"),
        ("old", "glob:*"),
    ]


def test_conveyor_keys_win_over_flux_keys_and_false_means_false():
    settings = read_automation_settings(
        {"conveyor.dev/automated": "false", "fluxcd.io/automated": "true"}
    )
    assert settings.automated is False
    assert settings.locked is False


SETTERS = """image:
  repository: ghcr.io/org/app # {"$imagepolicy": "flux-system:app:name"}
  tag: "1.0"  # {"$imagepolicy": "flux-system:app:tag"}
  digest: sha256:aa # {"$imagepolicy":"flux-system:app:digest"}
note: 'x # {"$imagepolicy": "flux-system:app"}'
glued: x#{"$imagepolicy":"flux-system:app"}
bad: y # {"$imagepolicy": "no-namespace"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: d, namespace: prod}
spec:
  template:
    spec:
      containers:
      - name: app
        image: ghcr.io/org/app:1.0 # {"$imagepolicy": "flux-system:app"}
"""


def test_setter_markers_are_found_on_the_scalar_before_the_comment():
    markers = scan_manifest(SETTERS).setter_markers
    found = [
        (m.policy, m.field, m.value_span.value, m.document_index, m.workload_id, m.container)
        for m in markers
    ]
    assert found == [
        ("flux-system:app", "name", "ghcr.io/org/app", 0, None, None),
        ("flux-system:app", "tag", "1.0", 0, None, None),
        ("flux-system:app", "digest", "sha256:aa", 0, None, None),
        ("flux-system:app", "image", "ghcr.io/org/app:1.0", 1, "prod:deployment/d", "app"),
    ]
    tag_span = markers[1].value_span
    assert SETTERS[tag_span.start : tag_span.end] == '"1.0"'


def test_files_without_markers_have_none():
    assert scan_manifest(pod_spec_document("Job")).setter_markers == ()
