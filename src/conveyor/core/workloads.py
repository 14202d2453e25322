"""Workload discovery: which containers, images, annotations and setter markers a file holds.

:func:`scan_manifest` reads one file's text (any number of documents, ``kind: List`` included)
and returns plain data: every workload (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job,
CronJob, Pod) with its containers and initContainers, the exact text span of each image value,
its annotations and the automation settings they carry, plus every Flux v2 setter marker
(``# {"$imagepolicy": "NS:NAME[:tag|:name]"}``) found anywhere in the file. Spans let
:mod:`conveyor.core.edits` change a value without touching any other character.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Literal

import yaml

from conveyor.core.workload_settings import AutomationSettings, read_automation_settings
from conveyor.core.yamltext import (
    ParsedYaml,
    ScalarSpan,
    mapping_get,
    parse_yaml,
    scalar_text,
    value_scalars,
)

__all__ = [
    "Annotation",
    "AutomationSettings",
    "Container",
    "ManifestScan",
    "SetterMarker",
    "SkippedDocument",
    "Workload",
    "kubernetes_objects",
    "object_id",
    "scan_manifest",
    "workload_id",
]

# Where the pod spec lives, per workload kind.
POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "Pod": ("spec",),
}
SetterField = Literal["image", "tag", "name", "digest"]
_SETTER_FIELDS: dict[str, SetterField] = {"tag": "tag", "name": "name", "digest": "digest"}
_SETTER_COMMENT = re.compile(r'#[ \t]*(\{[ \t]*"\$imagepolicy"[ \t]*:[ \t]*"[^"\r\n]*"[ \t]*\})')


@dataclass(frozen=True)
class Container:
    name: str
    init: bool  # an initContainer
    image: str  # the image string as written (parsed value, without quotes)
    image_span: ScalarSpan


@dataclass(frozen=True)
class Annotation:
    key: str
    value: str
    value_span: ScalarSpan


@dataclass(frozen=True)
class Workload:
    api_version: str
    kind: str
    name: str
    namespace: str | None  # as written; None when the manifest leaves it to the apply
    document_index: int  # 0-based, counting every document of the file
    item_index: int | None  # position inside a ``kind: List``'s ``items``
    containers: tuple[Container, ...]
    annotations: tuple[Annotation, ...]
    automation: AutomationSettings

    @property
    def id(self) -> str:
        """Flux v1's resource id: ``namespace:kind/name`` (``default`` when none is written)."""
        return workload_id(self.namespace, self.kind, self.name)

    def container(self, name: str) -> Container | None:
        return next((c for c in self.containers if c.name == name), None)


@dataclass(frozen=True)
class SetterMarker:
    """A scalar followed by ``# {"$imagepolicy": "NS:NAME[:field]"}`` (a Flux v2 setter)."""

    policy: str  # "NS:NAME"
    field: SetterField  # what part of the image the scalar holds
    value_span: ScalarSpan
    document_index: int
    workload_id: str | None  # the workload whose document/item holds the marker, if any
    container: str | None  # the container whose image the marker sits on, if any


@dataclass(frozen=True)
class SkippedDocument:
    """A document that is not a Kubernetes object (no ``apiVersion``/``kind``, not a mapping)."""

    document_index: int
    item_index: int | None
    line: int
    reason: str


@dataclass(frozen=True)
class ManifestScan:
    workloads: tuple[Workload, ...]
    setter_markers: tuple[SetterMarker, ...]
    skipped: tuple[SkippedDocument, ...]
    document_count: int


def workload_id(namespace: str | None, kind: str, name: str) -> str:
    return f"{namespace or 'default'}:{kind.lower()}/{name}"


def object_id(node: yaml.Node) -> str:
    """The ``namespace:kind/name`` id of any object node (see :func:`workload_id`)."""
    metadata = mapping_get(node, "metadata")
    return workload_id(
        scalar_text(mapping_get(metadata, "namespace")),
        scalar_text(mapping_get(node, "kind")) or "",
        scalar_text(mapping_get(metadata, "name")) or "",
    )


def scan_manifest(text: str, *, source: str = "") -> ManifestScan:
    """Find workloads and setter markers in one file's text.

    Raises :class:`~conveyor.core.yamltext.ManifestSyntaxError` (naming ``source``, the document
    index and the line) when the text is not YAML.
    """
    parsed = parse_yaml(text, source=source)
    workloads: list[Workload] = []
    skipped: list[SkippedDocument] = []
    # (start, end, id) of each workload's object node, to tell which workload a marker is in
    extents: list[tuple[int, int, Workload]] = []
    for index, root in enumerate(parsed.documents):
        if root is None or (isinstance(root, yaml.ScalarNode) and root.value == ""):
            continue  # an empty document, e.g. after a trailing ``---``
        for item_index, node, reason in kubernetes_objects(root):
            if reason:
                skipped.append(
                    SkippedDocument(
                        document_index=index,
                        item_index=item_index,
                        line=node.start_mark.line + 1,
                        reason=reason,
                    )
                )
                continue
            workload = _read_workload(parsed, node, document_index=index, item_index=item_index)
            if workload is not None:
                workloads.append(workload)
                extents.append((parsed.start(node), parsed.end(node), workload))
    markers = _setter_markers(parsed, extents) if "$imagepolicy" in text else ()
    return ManifestScan(
        workloads=tuple(workloads),
        setter_markers=markers,
        skipped=tuple(skipped),
        document_count=len(parsed.documents),
    )


def kubernetes_objects(root: yaml.Node) -> list[tuple[int | None, yaml.Node, str]]:
    """(item index, node, why it is not an object or "") for the object(s) a document holds.

    A ``kind: List`` (or ``DeploymentList``, ...) gives its ``items``, each with its index.
    """
    reason = _not_an_object(root)
    if reason:
        return [(None, root, reason)]
    kind = scalar_text(mapping_get(root, "kind")) or ""
    items = mapping_get(root, "items")
    if not (kind.endswith("List") and isinstance(items, yaml.SequenceNode)):
        return [(None, root, "")]
    return [(i, item, _not_an_object(item)) for i, item in enumerate(items.value)]


def _not_an_object(node: yaml.Node) -> str:
    if not isinstance(node, yaml.MappingNode):
        return "not a mapping, so not a Kubernetes object"
    if not scalar_text(mapping_get(node, "apiVersion")) or not scalar_text(
        mapping_get(node, "kind")
    ):
        return "no apiVersion or kind, so not a Kubernetes object"
    return ""


def _read_workload(
    parsed: ParsedYaml, node: yaml.Node, *, document_index: int, item_index: int | None
) -> Workload | None:
    kind = scalar_text(mapping_get(node, "kind")) or ""
    path = POD_SPEC_PATHS.get(kind)
    if path is None:
        return None
    metadata = mapping_get(node, "metadata")
    pod_spec: yaml.Node | None = node
    for key in path:
        pod_spec = mapping_get(pod_spec, key)
    containers = [
        *_read_containers(parsed, mapping_get(pod_spec, "initContainers"), init=True),
        *_read_containers(parsed, mapping_get(pod_spec, "containers"), init=False),
    ]
    annotations = _read_annotations(parsed, mapping_get(metadata, "annotations"))
    return Workload(
        api_version=scalar_text(mapping_get(node, "apiVersion")) or "",
        kind=kind,
        name=scalar_text(mapping_get(metadata, "name")) or "",
        namespace=scalar_text(mapping_get(metadata, "namespace")) or None,
        document_index=document_index,
        item_index=item_index,
        containers=tuple(containers),
        annotations=annotations,
        automation=read_automation_settings({a.key: a.value for a in annotations}),
    )


def _read_containers(parsed: ParsedYaml, node: yaml.Node | None, *, init: bool) -> list[Container]:
    if not isinstance(node, yaml.SequenceNode):
        return []
    found = []
    for item in node.value:
        image = mapping_get(item, "image")
        if not isinstance(image, yaml.ScalarNode):
            continue  # e.g. a kustomize patch that only names the container
        found.append(
            Container(
                name=scalar_text(mapping_get(item, "name")) or "",
                init=init,
                image=str(image.value),
                image_span=parsed.span(image),
            )
        )
    return found


def _read_annotations(parsed: ParsedYaml, node: yaml.Node | None) -> tuple[Annotation, ...]:
    if not isinstance(node, yaml.MappingNode):
        return ()
    annotations = []
    for key_node, value_node in node.value:
        if isinstance(key_node, yaml.ScalarNode) and isinstance(value_node, yaml.ScalarNode):
            annotations.append(
                Annotation(
                    key=str(key_node.value),
                    value=str(value_node.value),
                    value_span=parsed.span(value_node),
                )
            )
    return tuple(annotations)


def _setter_markers(
    parsed: ParsedYaml, extents: list[tuple[int, int, Workload]]
) -> tuple[SetterMarker, ...]:
    """Pair each ``# {"$imagepolicy": ...}`` comment with the scalar that ends just before it.

    Requiring a scalar to end right before the ``#`` (only blanks between, same line) is what
    tells a real comment from the same characters inside a quoted string.
    """
    text = parsed.text
    by_end: dict[int, tuple[int, yaml.ScalarNode]] = {}
    for index, root in enumerate(parsed.documents):
        for scalar in value_scalars(root):
            by_end[parsed.end(scalar)] = (index, scalar)
    markers = []
    for match in _SETTER_COMMENT.finditer(text):
        end = match.start()
        while end > 0 and text[end - 1] in " \t":
            end -= 1
        if end == match.start() or end not in by_end:
            continue  # a '#' needs a blank before it to start a comment
        policy, field = _parse_setter(match.group(1))
        if policy is None:
            continue
        document_index, scalar = by_end[end]
        span = parsed.span(scalar)
        owner = next((w for start, stop, w in extents if start <= span.start < stop), None)
        container = None
        if owner is not None:
            container = next((c.name for c in owner.containers if c.image_span == span), None)
        markers.append(
            SetterMarker(
                policy=policy,
                field=field,
                value_span=span,
                document_index=document_index,
                workload_id=owner.id if owner else None,
                container=container,
            )
        )
    return tuple(markers)


def _parse_setter(comment_json: str) -> tuple[str | None, SetterField]:
    try:
        reference = str(json.loads(comment_json)["$imagepolicy"])
    except (ValueError, KeyError):
        return None, "image"
    parts = reference.split(":")
    if len(parts) == 2 and all(parts):
        return reference, "image"
    if len(parts) == 3 and parts[0] and parts[1] and parts[2] in _SETTER_FIELDS:
        return f"{parts[0]}:{parts[1]}", _SETTER_FIELDS[parts[2]]
    return None, "image"
