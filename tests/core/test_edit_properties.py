"""Property tests: manifests generated in many styles, edited, then checked two ways.

The generator renders the same manifest twice, once with the old images and once with the new
ones, in exactly the same style. An image edit must produce the second rendering byte for byte
(so nothing outside the values moved), and must parse to the old objects with only the intended
images changed. Annotation edits must parse to the intended annotations, only insert text, and
be undone exactly by removing the key again.
"""

import difflib
from dataclasses import dataclass, replace

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conveyor.core.edits import ImageUpdate, apply_image_updates, remove_annotation, set_annotation

PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

# Written independently of the implementation: where each kind keeps its pod spec.
POD_SPEC = {
    "Deployment": ["spec", "template", "spec"],
    "StatefulSet": ["spec", "template", "spec"],
    "DaemonSet": ["spec", "template", "spec"],
    "Job": ["spec", "template", "spec"],
    "CronJob": ["spec", "jobTemplate", "spec", "template", "spec"],
    "Pod": ["spec"],
}
# (canonical repository, ways to write it)
REPOSITORIES = [
    (
        "docker.io/library/nginx",
        ["nginx", "library/nginx", "docker.io/nginx", "docker.io/library/nginx"],
    ),
    ("ghcr.io/acme/app", ["ghcr.io/acme/app"]),
    ("localhost:5000/team/app", ["localhost:5000/team/app"]),
]
# Look-alikes (same substrings, other repositories) that must never change.
UNRELATED = ["busybox:1.36", "nginx-extra:1.0", "ghcr.io/acme/app-helper:2", "nginxinc/nginx:1"]
TAGS = st.from_regex(r"[a-zA-Z0-9_][a-zA-Z0-9._-]{0,15}", fullmatch=True)


@dataclass(frozen=True)
class Style:
    indent: int
    flush_sequences: bool  # "- " at its parent key's column instead of one step in
    newline: str
    quotes: tuple[str, ...]  # per container: plain, single or double
    flow_containers: bool
    comments: bool
    anchor: bool  # container 1 reuses container 0's image through an alias
    kind: str
    in_list: bool
    leading_marker: bool
    before: tuple[str, ...]
    after: tuple[str, ...]
    end_markers: bool  # "..." after each document
    namespace: str | None
    annotations: str  # none, block, flow, empty
    final_newline: bool


@st.composite
def styles(draw, count: int) -> Style:
    extra_docs = st.lists(st.sampled_from(["configmap", "values", "empty", "comment"]), max_size=2)
    return Style(
        indent=draw(st.sampled_from([2, 4])),
        flush_sequences=draw(st.booleans()),
        newline=draw(st.sampled_from(["\n", "\r\n"])),
        quotes=tuple(draw(st.sampled_from(["plain", "single", "double"])) for _ in range(count)),
        flow_containers=draw(st.booleans()),
        comments=draw(st.booleans()),
        anchor=count > 1 and draw(st.booleans()),
        kind=draw(st.sampled_from(sorted(POD_SPEC))),
        in_list=draw(st.booleans()),
        leading_marker=draw(st.booleans()),
        before=tuple(draw(extra_docs)),
        after=tuple(draw(extra_docs)),
        end_markers=draw(st.booleans()),
        namespace=draw(st.sampled_from([None, "prod"])),
        annotations=draw(st.sampled_from(["none", "block", "flow", "empty"])),
        final_newline=draw(st.booleans()),
    )


def quoted(value: str, quote: str) -> str:
    return {"plain": value, "single": f"'{value}'", "double": f'"{value}"'}[quote]


def image_text(style: Style, images: list[str], index: int) -> str:
    if style.anchor and index == 0:
        return "&img " + quoted(images[0], style.quotes[0])
    if style.anchor and index == 1:
        return "*img"
    return quoted(images[index], style.quotes[index])


def workload_lines(style: Style, images: list[str]) -> list[str]:
    step = " " * style.indent
    lines = ["apiVersion: v1", f"kind: {style.kind}", "metadata:", f"{step}name: app"]
    if style.namespace:
        lines.append(
            f"{step}namespace: {style.namespace}" + ("  # where" if style.comments else "")
        )
    if style.annotations == "block":
        lines += [f"{step}annotations:", f"{step * 2}team: shop", f"{step * 2}tier: 'web'"]
    elif style.annotations == "flow":
        lines.append(f'{step}annotations: {{team: shop, "tier": "web"}}')
    elif style.annotations == "empty":
        lines.append(f"{step}annotations:")
    if style.comments:
        lines += ["", "# the pod"]
    depth = 0
    for key in POD_SPEC[style.kind]:
        lines.append(f"{step * depth}{key}:")
        depth += 1
    pad = step * depth
    if style.flow_containers:
        items = [
            f"{{name: c{i}, image: {image_text(style, images, i)}}}" for i in range(len(images))
        ]
        lines.append(f"{pad}containers: [{', '.join(items)}]")
        return lines
    dash = pad if style.flush_sequences else pad + step
    lines.append(f"{pad}containers:")
    for i in range(len(images)):
        comment = "   # pinned" if style.comments else ""
        lines += [f"{dash}- name: c{i}", f"{dash}  image: {image_text(style, images, i)}{comment}"]
        if style.comments:
            lines.append(f"{dash}  # more settings would go here")
    return lines


def extra_document(kind: str, decoy: str) -> list[str]:
    """A document around the workload; ``decoy`` (an image string) in it must never change."""
    return {
        "configmap": [
            "apiVersion: v1",
            "kind: ConfigMap",
            "metadata:",
            "data:",
            f"  image: {decoy}",
        ],
        "values": ["image:", f"  repository: {decoy.split(':')[0]}", "  tag: '1'"],
        "empty": [],
        "comment": ["# only a comment"],
    }[kind]


def render(style: Style, images: list[str], *, decoy: str) -> str:
    """The whole file; ``images`` only changes the container image values."""
    body = workload_lines(style, images)
    if style.in_list:
        dash, rest = ("- ", "  ") if style.flush_sequences else ("  - ", "    ")
        body = ["apiVersion: v1", "kind: List", "items:"] + [
            (dash if i == 0 else rest) + line if line else line for i, line in enumerate(body)
        ]
    documents = [extra_document(k, decoy) for k in style.before]
    documents += [body] + [extra_document(k, decoy) for k in style.after]
    lines: list[str] = ["---"] if style.leading_marker else []
    for i, document in enumerate(documents):
        if i:
            lines.append("---")
        lines += document
        if style.end_markers and any(not line.startswith("#") for line in document):
            lines.append("...")  # only after content: libyaml refuses a "..." closing nothing
    text = style.newline.join(lines)
    return text + style.newline if style.final_newline else text


@st.composite
def image_cases(draw):
    count = draw(st.integers(min_value=1, max_value=3))
    style = draw(styles(count))
    canonical, forms = draw(st.sampled_from(REPOSITORIES))
    old_tag, new_tag = draw(TAGS), draw(TAGS)
    old_images, new_images = [], []
    for i in range(count):
        if style.anchor and i == 1:
            old_images.append(old_images[0])
            new_images.append(new_images[0])
        elif draw(st.booleans()) or i == 0:
            written = draw(st.sampled_from(forms))
            old_images.append(f"{written}:{old_tag}")
            new_images.append(f"{written}:{new_tag}")
        else:
            unrelated = draw(st.sampled_from(UNRELATED))
            old_images.append(unrelated)
            new_images.append(unrelated)
    return style, canonical, new_tag, old_images, new_images


def workload_of(documents: list, style: Style) -> dict:
    """The generated workload among the parsed documents (the extra ones have other kinds)."""
    kinds = ("List",) if style.in_list else (style.kind,)
    (workload,) = [d for d in documents if isinstance(d, dict) and d.get("kind") in kinds]
    return workload["items"][0] if style.in_list else workload


def pod_spec_of(workload: dict, kind: str) -> dict:
    node = workload
    for key in POD_SPEC[kind]:
        node = node[key]
    return node


@PROPERTY_SETTINGS
@given(image_cases())
def test_an_image_edit_changes_only_the_image_values(case):
    style, canonical, new_tag, old_images, new_images = case
    old_text = render(style, old_images, decoy=old_images[0])
    expected_text = render(style, new_images, decoy=old_images[0])

    result = apply_image_updates({"app.yaml": old_text}, [ImageUpdate(canonical, new_tag)])

    assert result.problems == ()
    new_text = result.changed_files.get("app.yaml", old_text)
    assert new_text == expected_text
    # The new text parses to the old objects with exactly the intended images changed.
    expected_documents = list(yaml.safe_load_all(old_text))
    containers = pod_spec_of(workload_of(expected_documents, style), style.kind)["containers"]
    for container, image in zip(containers, new_images, strict=True):
        container["image"] = image
    assert list(yaml.safe_load_all(new_text)) == expected_documents
    # And a character diff touches nothing but the lines holding container images.
    old_lines = old_text.split("\n")
    diff = difflib.SequenceMatcher(None, old_text, new_text, autojunk=False)
    for tag, i1, i2, _, _ in diff.get_opcodes():
        if tag != "equal":
            first, last = old_text.count("\n", 0, i1), old_text.count("\n", 0, max(i1, i2 - 1))
            assert all("image: " in old_lines[n] for n in range(first, last + 1))
    changed_containers = {c.container for c in result.changes}
    assert changed_containers == {
        f"c{i}" for i, (a, b) in enumerate(zip(old_images, new_images, strict=True)) if a != b
    }


@PROPERTY_SETTINGS
@given(styles(2), st.sampled_from(["true", "semver:~1.2", "it's 1.10", "x: y"]))
def test_an_annotation_edit_inserts_only_and_is_undone_by_removal(style, value):
    style = replace(style, anchor=False)
    text = render(style, ["nginx:1", "busybox:1"], decoy="nginx:1")
    key = "conveyor.dev/locked"

    new_text = set_annotation(
        text, f"{style.namespace or 'default'}:{style.kind.lower()}/app", key=key, value=value
    )

    documents = list(yaml.safe_load_all(text))
    metadata = workload_of(documents, style)["metadata"]
    metadata["annotations"] = {**(metadata.get("annotations") or {}), key: value}
    assert list(yaml.safe_load_all(new_text)) == documents
    if style.annotations != "empty":  # filling an empty entry may drop a blank; all else inserts
        opcodes = difflib.SequenceMatcher(None, text, new_text, autojunk=False).get_opcodes()
        assert {tag for tag, *_ in opcodes} <= {"equal", "insert"}
        workload = f"{style.namespace or 'default'}:{style.kind.lower()}/app"
        assert remove_annotation(new_text, workload, key=key) == text


@PROPERTY_SETTINGS
@given(styles(1), st.sampled_from(["api", "true", "a 'quoted' value"]))
def test_changing_an_annotation_touches_only_its_value(style, value):
    style = replace(style, annotations="block")
    text = render(style, ["nginx:1"], decoy="nginx:1")
    workload = f"{style.namespace or 'default'}:{style.kind.lower()}/app"

    new_text = set_annotation(text, workload, key="team", value=value)

    documents = list(yaml.safe_load_all(text))
    workload_of(documents, style)["metadata"]["annotations"]["team"] = value
    assert list(yaml.safe_load_all(new_text)) == documents
    start = text.index("team: ") + len("team: ")
    assert new_text[:start] == text[:start]
    assert new_text.endswith(text[start + len("shop") :])
