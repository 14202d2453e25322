"""Image and annotation edits on text: only the intended characters change."""

import pytest
import yaml

from conveyor.core.edits import (
    EditError,
    ImageUpdate,
    apply_image_updates,
    canonical_repository,
    remove_annotation,
    replace_scalars,
    set_annotation,
    set_container_image,
    split_image,
    update_images_in_text,
)
from conveyor.core.workloads import scan_manifest
from conveyor.core.yamltext import ManifestSyntaxError, is_plain_safe, render_scalar

DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  template:
    spec:
      containers:
      - name: web
        image: nginx:1.24   # keep this comment
      - name: sidecar
        image: 'envoyproxy/envoy:v1.29.0'
"""


def annotations_of(text: str, index: int = 0) -> dict:
    return list(yaml.safe_load_all(text))[index]["metadata"].get("annotations")


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("nginx", "docker.io/library/nginx"),
        ("nginx:1.25@sha256:abc", "docker.io/library/nginx"),
        ("library/nginx", "docker.io/library/nginx"),
        ("docker.io/nginx", "docker.io/library/nginx"),
        ("index.docker.io/library/nginx:1", "docker.io/library/nginx"),
        ("registry-1.docker.io/bitnami/redis", "docker.io/bitnami/redis"),
        ("bitnami/redis:7", "docker.io/bitnami/redis"),
        ("localhost/app", "localhost/app"),
        ("localhost:5000/team/app:v1", "localhost:5000/team/app"),
        ("GHCR.io/org/app", "ghcr.io/org/app"),
    ],
)
def test_canonical_repository_follows_docker_hub_rules(written, canonical):
    assert canonical_repository(written) == canonical


@pytest.mark.parametrize(
    ("image", "parts"),
    [
        ("nginx", ("nginx", None, None)),
        ("nginx:1.2", ("nginx", "1.2", None)),
        ("host:5000/a/b", ("host:5000/a/b", None, None)),
        ("host:5000/a/b:v1@sha256:ff", ("host:5000/a/b", "v1", "sha256:ff")),
        ("a/b@sha256:ff", ("a/b", None, "sha256:ff")),
    ],
)
def test_split_image_keeps_the_written_name(image, parts):
    assert split_image(image) == parts


@pytest.mark.parametrize(
    ("value", "style", "rendered"),
    [
        ("nginx:1.25", "plain", "nginx:1.25"),
        ("1.10", "plain", '"1.10"'),  # would read back as the float 1.1
        ("true", "plain", '"true"'),
        ("1e3", "plain", '"1e3"'),
        ("0x1F", "plain", '"0x1F"'),
        ("a: b", "plain", '"a: b"'),
        ("it's", "single", "'it''s'"),
        ('say "hi"\n', "double", '"say \\"hi\\"\\x0a"'),
        ("tab\there", "single", '"tab\\x09here"'),
    ],
)
def test_values_are_rendered_in_the_old_style_when_they_read_back_the_same(value, style, rendered):
    assert render_scalar(value, style) == rendered
    assert yaml.safe_load(f"k: {rendered}")["k"] == value


def test_plain_safety_rejects_indicators_and_non_strings():
    assert is_plain_safe("ghcr.io/org/app:v1.2.3")
    for unsafe in ("", " x", "-x", "*x", "x #y", "null", "~", "yes", "12", "[x]", "x:"):
        assert not is_plain_safe(unsafe), unsafe


def test_block_scalars_are_not_rewritten():
    with pytest.raises(EditError):
        render_scalar("x", "literal")


def test_set_container_image_changes_only_that_value():
    new = set_container_image(
        DEPLOYMENT, workload_id="shop:deployment/web", container="web", image="nginx:1.25"
    )
    assert new == DEPLOYMENT.replace("nginx:1.24", "nginx:1.25")
    with pytest.raises(EditError, match="no container"):
        set_container_image(DEPLOYMENT, workload_id="shop:deployment/web", container="x", image="y")


def test_replace_scalars_refuses_stale_and_overlapping_spans():
    span = scan_manifest(DEPLOYMENT).workloads[0].containers[0].image_span
    with pytest.raises(EditError, match="no longer"):
        replace_scalars(DEPLOYMENT.replace("nginx:1.24", "nginx:1.23"), [(span, "nginx:2")])
    with pytest.raises(EditError, match="overlap"):
        replace_scalars(DEPLOYMENT, [(span, "a"), (span, "b")])
    assert replace_scalars(DEPLOYMENT, [(span, span.value)]) == DEPLOYMENT


def test_update_keeps_written_form_and_quoting():
    text, changes = update_images_in_text(
        DEPLOYMENT, [ImageUpdate("docker.io/envoyproxy/envoy", "v1.30.1")], path="web.yaml"
    )
    assert text == DEPLOYMENT.replace("'envoyproxy/envoy:v1.29.0'", "'envoyproxy/envoy:v1.30.1'")
    (change,) = changes
    assert (change.path, change.workload_id, change.container, change.line) == (
        "web.yaml",
        "shop:deployment/web",
        "sidecar",
        13,
    )


def test_a_digest_is_written_after_the_tag_and_into_digest_setters():
    values = (
        'image: ghcr.io/x/app:1@sha256:0ld # {"$imagepolicy": "ns:app"}\n'
        'digest: sha256:0ld # {"$imagepolicy": "ns:app:digest"}\n'
    )
    update = ImageUpdate(
        "ghcr.io/x/app", "2", digest="sha256:n3w", setter_policies=frozenset({"ns:app"})
    )
    result = apply_image_updates({"v.yaml": values}, [update])
    assert yaml.safe_load(result.changed_files["v.yaml"]) == {
        "image": "ghcr.io/x/app:2@sha256:n3w",
        "digest": "sha256:n3w",
    }


def test_an_image_already_at_the_tag_is_no_change():
    result = apply_image_updates({"a.yaml": DEPLOYMENT}, [ImageUpdate("nginx", "1.24")])
    assert result.changed_files == {} and result.changes == ()


def test_the_workload_filter_limits_containers_and_markers():
    values = 'tag: "1" # {"$imagepolicy": "ns:app:tag"}\n'
    files = {"deploy.yaml": DEPLOYMENT, "values.yaml": values}
    update = ImageUpdate("nginx", "1.25", setter_policies=frozenset({"ns:app"}))
    result = apply_image_updates(files, [update], workloads={"other:deployment/x"})
    assert result.changed_files == {}
    result = apply_image_updates(files, [update])
    assert set(result.changed_files) == {"deploy.yaml", "values.yaml"}
    assert result.changed_files["values.yaml"] == values.replace('"1"', '"1.25"')


def test_files_without_the_repository_are_not_parsed():
    files = {"broken.yaml": "a: [\n", "web.yaml": DEPLOYMENT}
    result = apply_image_updates(files, [ImageUpdate("nginx", "1.25")])
    assert result.problems == ()  # the broken file never contained "nginx", so it was not read
    assert set(result.changed_files) == {"web.yaml"}


def test_a_broken_file_is_a_problem_not_a_failure_for_the_others():
    files = {"broken.yaml": "image: nginx\n  bad: [\n", "web.yaml": DEPLOYMENT}
    result = apply_image_updates(files, [ImageUpdate("nginx", "1.25")])
    (problem,) = result.problems
    assert problem.path == "broken.yaml" and "line" in problem.message
    assert set(result.changed_files) == {"web.yaml"}


def test_conflicting_updates_for_one_value_are_reported():
    text = DEPLOYMENT.replace("# keep this comment", '# {"$imagepolicy": "ns:other"}')
    updates = [
        ImageUpdate("nginx", "1.25"),
        ImageUpdate("ghcr.io/x/other", "9", setter_policies=frozenset({"ns:other"})),
    ]
    result = apply_image_updates({"a.yaml": text}, updates)
    assert result.changed_files == {}
    assert "both" in result.problems[0].message


def test_a_tag_that_is_not_plain_safe_is_quoted_in_a_plain_setter():
    values = 'tag: 1.9 # {"$imagepolicy": "ns:app:tag"}\n'
    result = apply_image_updates(
        {"v.yaml": values}, [ImageUpdate("app", "1.10", setter_policies=frozenset({"ns:app"}))]
    )
    assert result.changed_files["v.yaml"] == values.replace("1.9", '"1.10"')
    assert yaml.safe_load(result.changed_files["v.yaml"]) == {"tag": "1.10"}


def test_set_and_remove_annotation_round_trip_in_block_style():
    locked = set_annotation(
        DEPLOYMENT, "shop:deployment/web", key="conveyor.dev/locked", value="true"
    )
    assert annotations_of(locked) == {"conveyor.dev/locked": "true"}
    reasoned = set_annotation(
        locked, "shop:deployment/web", key="conveyor.dev/locked-reason", value="it's late"
    )
    assert annotations_of(reasoned)["conveyor.dev/locked-reason"] == "it's late"
    back = remove_annotation(reasoned, "shop:deployment/web", key="conveyor.dev/locked-reason")
    assert back == locked
    assert remove_annotation(back, "shop:deployment/web", key="conveyor.dev/locked") == DEPLOYMENT


def test_removing_an_absent_annotation_changes_nothing():
    assert remove_annotation(DEPLOYMENT, "shop:deployment/web", key="x") == DEPLOYMENT


@pytest.mark.parametrize("null", ["", " ~", " null", "   # none yet"])
def test_an_empty_annotations_entry_is_filled(null):
    text = (
        f"apiVersion: v1\nkind: Pod\nmetadata:\n    name: p\n    annotations:{null}\nspec: {{}}\n"
    )
    new = set_annotation(text, "default:pod/p", key="k", value="v")
    assert annotations_of(new) == {"k": "v"}
    assert "\n        k: v\n" in new  # the file's 4-space step


def test_an_empty_value_gets_its_blank_after_the_colon():
    text = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    k:\n"
    new = set_annotation(text, "default:pod/p", key="k", value="v")
    assert new == text.replace("    k:\n", "    k: v\n")


@pytest.mark.parametrize(
    ("annotations", "key", "expected"),
    [
        ("{a: '1', b: '2', c: '3'}", "a", "{b: '2', c: '3'}"),
        ("{a: '1', b: '2', c: '3'}", "b", "{a: '1', c: '3'}"),
        ("{a: '1', b: '2', c: '3'}", "c", "{a: '1', b: '2'}"),
    ],
)
def test_removing_from_flow_annotations_takes_one_comma(annotations, key, expected):
    text = f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations: {annotations}\n"
    assert remove_annotation(text, "default:pod/p", key=key) == text.replace(annotations, expected)


def test_flow_annotations_gain_a_key_in_flow_style():
    text = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations: {}\n"
    new = set_annotation(text, "default:pod/p", key="a", value="true")
    assert new == text.replace("{}", '{a: "true"}')
    assert remove_annotation(new, "default:pod/p", key="a") == text.replace(
        "  annotations: {}\n", ""
    )


def test_json_manifests_get_double_quoted_keys():
    text = '{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {}}'
    new = set_annotation(text, "default:pod/p", key="conveyor.dev/automated", value="true")
    assert new == text.replace('"p"}', '"p", "annotations": {"conveyor.dev/automated": "true"}}')


def test_annotations_go_after_nested_metadata_and_before_following_comments():
    text = (
        "kind: List\napiVersion: v1\nitems:\n"
        "  - apiVersion: v1\n    kind: Pod\n    metadata:\n      name: p\n"
        "      labels: &labels\n        app: p\n      finalizers:\n      - a\n      - b  # last\n"
        "\n    # the spec\n    spec: {}\n"
        "  - apiVersion: v1\n    kind: Pod\n    metadata:\n      name: q\n      labels: *labels"
    )
    new = set_annotation(text, "default:pod/p", key="k", value="v")
    assert new == text.replace("- b  # last\n", "- b  # last\n      annotations:\n        k: v\n")
    newer = set_annotation(new, "default:pod/q", key="k", value="v")
    assert newer == new + "\n      annotations:\n        k: v\n"
    assert remove_annotation(newer, "default:pod/q", key="k") == new + "\n"


def test_crlf_is_kept_for_added_lines():
    text = DEPLOYMENT.replace("\n", "\r\n")
    new = set_annotation(text, "shop:deployment/web", key="a", value="b")
    assert new == text.replace(
        "namespace: shop\r\n", "namespace: shop\r\n  annotations:\r\n    a: b\r\n"
    )


def test_unknown_or_duplicated_workloads_are_refused():
    with pytest.raises(EditError, match="no object"):
        set_annotation(DEPLOYMENT, "shop:deployment/other", key="a", value="b")
    with pytest.raises(EditError, match="2 times"):
        set_annotation(DEPLOYMENT + "---\n" + DEPLOYMENT, "shop:deployment/web", key="a", value="b")
    with pytest.raises(ManifestSyntaxError):
        set_annotation("a: [\n", "shop:deployment/web", key="a", value="b")
