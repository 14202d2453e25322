"""Byte-exact image edits: change the characters of one value and nothing else.

The update engine knows no git and no Kubernetes: :func:`apply_image_updates` takes the files of
a config repo as ``{path: text}``, a list of "repository R gets tag T" updates, and returns the new
texts of the files it changed plus one :class:`ImageChange` record per change, ready for a commit
message. Each change is a splice of the original text at a scalar's span: comments, blank lines,
indentation, key order, quoting, flow style, anchors, CRLF and document markers stay as they were.
The new value is written in the old value's quoting style (plain falls back to double quotes when
the new value would not read back as a string).

Images are matched by repository, whatever way they are written: ``nginx``, ``library/nginx`` and
``docker.io/library/nginx`` are one repository (Docker Hub rules from :mod:`conveyor.core.images`,
see :func:`canonical_repository`).
The written form is kept and only the tag is replaced; a digest pinned after the tag is dropped,
since it would keep the old image running, unless the update brings its own digest.

Errors: :class:`~conveyor.core.yamltext.EditError` for an edit that cannot be made; files that are
not YAML are reported in :attr:`ImageUpdateResult.problems` and left unchanged, never fatal.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from conveyor.core.annotation_edits import remove_annotation, set_annotation
from conveyor.core.images import DOCKER_HUB, DOCKER_HUB_API_HOST, ImageRefError, parse_image_ref
from conveyor.core.workloads import Container, SetterMarker, scan_manifest
from conveyor.core.yamltext import EditError, ManifestSyntaxError, ScalarSpan, render_scalar

__all__ = [
    "EditError",
    "FileProblem",
    "ImageChange",
    "ImageUpdate",
    "ImageUpdateResult",
    "apply_image_updates",
    "canonical_repository",
    "remove_annotation",
    "replace_scalars",
    "set_annotation",
    "set_container_image",
    "split_image",
    "update_images_in_text",
]


@dataclass(frozen=True)
class ImageUpdate:
    """Repository ``repository`` (any written form; compared canonically) gets ``tag``.

    ``setter_policies`` names the Flux v2 image policies ("NS:NAME") whose setter markers resolve
    to this repository: their marked values are updated too, wherever they are.
    """

    repository: str
    tag: str
    digest: str | None = None
    setter_policies: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ImageChange:
    """One value changed, for the commit message and the release history."""

    path: str
    workload_id: str | None  # None for a setter marker outside any workload (Helm values, ...)
    container: str | None
    setter_policy: str | None  # the Flux v2 policy whose marker asked for it, if any
    old_value: str
    new_value: str
    line: int  # 1-based line of the value in the old text


@dataclass(frozen=True)
class FileProblem:
    path: str
    message: str


@dataclass(frozen=True)
class ImageUpdateResult:
    changed_files: Mapping[str, str] = field(default_factory=dict)  # path -> new text
    changes: tuple[ImageChange, ...] = ()
    problems: tuple[FileProblem, ...] = ()  # files that could not be read or edited


def split_image(image: str) -> tuple[str, str | None, str | None]:
    """``name[:tag][@digest]`` -> (name, tag, digest), the name exactly as written.

    A lexical split, lenient on purpose: a value that is not a valid reference (a templated
    ``${IMAGE}``, a short digest) still splits, where :func:`parse_image_ref` would refuse it.
    """
    name, _, digest = image.partition("@")
    colon = name.rfind(":")
    tag = None
    if colon > name.rfind("/"):
        name, tag = name[:colon], name[colon + 1 :]
    return name, tag or None, digest or None


def canonical_repository(name: str) -> str:
    """The canonical name (:attr:`ImageRef.canonical_name`) of an image; tag and digest ignored.

    ``nginx`` -> ``docker.io/library/nginx``; ``localhost:5000/app`` keeps its host. Docker Hub's
    API host ``registry-1.docker.io`` also counts as Docker Hub here: a manifest that spells it out
    still names the same images. A name that is not a valid reference is returned as written, so
    it only ever matches itself.
    """
    bare = split_image(name)[0]
    try:
        reference = parse_image_ref(bare)
    except ImageRefError:
        return bare
    if reference.canonical_registry == DOCKER_HUB_API_HOST:
        reference = replace(reference, registry=DOCKER_HUB)
    return reference.canonical_name


def _search_key(canonical: str) -> str:
    """A substring every written form of the repository contains, to skip files cheaply."""
    host, _, path = canonical.partition("/")
    if host == DOCKER_HUB:
        return path.removeprefix("library/")
    return canonical


def _with_tag(written: str, update: ImageUpdate) -> str:
    name = split_image(written)[0]
    if canonical_repository(name) != canonical_repository(update.repository):
        name = split_image(update.repository)[0]
    digest = f"@{update.digest}" if update.digest else ""
    return f"{name}:{update.tag}{digest}"


def replace_scalars(text: str, edits: Iterable[tuple[ScalarSpan, str]]) -> str:
    """Write each new value over its span, in the span's quoting style; nothing else changes.

    Raises :class:`EditError` when a span no longer matches the text (it was found in another
    version of the file) or two spans overlap.
    """
    ordered = sorted(edits, key=lambda edit: edit[0].start)
    pieces: list[str] = []
    position = 0
    for span, value in ordered:
        if span.start < position:
            raise EditError(f"two edits overlap at line {span.line}; make them one at a time")
        if text[span.start : span.end] != span.raw:
            raise EditError(
                f"the value at line {span.line} is no longer {span.raw!r}; scan the file again"
            )
        pieces.append(text[position : span.start])
        pieces.append(span.raw if value == span.value else render_scalar(value, span.style))
        position = span.end
    pieces.append(text[position:])
    return "".join(pieces)


def set_container_image(text: str, *, workload_id: str, container: str, image: str) -> str:
    """Set one container's (or initContainer's) image to ``image``, exactly as given."""
    targets = [
        c
        for w in scan_manifest(text).workloads
        if w.id == workload_id
        for c in w.containers
        if c.name == container
    ]
    if not targets:
        raise EditError(f"no container {container!r} in workload {workload_id!r} in this file")
    unique = {c.image_span: image for c in targets}
    return replace_scalars(text, unique.items())


def update_images_in_text(
    text: str,
    updates: Sequence[ImageUpdate],
    *,
    path: str = "",
    workloads: Collection[str] | None = None,
) -> tuple[str, tuple[ImageChange, ...]]:
    """Apply ``updates`` to one file: containers whose repository matches, and setter markers.

    With ``workloads`` (ids like ``ns:deployment/name``) only those workloads change, and setter
    markers outside any workload are left alone.
    """
    scan = scan_manifest(text, source=path)
    planned: dict[ScalarSpan, str] = {}
    changes: list[ImageChange] = []

    # One span can be asked for twice: containers sharing an anchored image (each container
    # gets its record, the text one splice) or a setter marker on a container's image line
    # (the container's record is enough). Two different values for one span are an error.
    def plan(change: ImageChange, span: ScalarSpan, *, always_record: bool) -> None:
        new_value = change.new_value
        claimed = planned.get(span)
        if claimed is not None and claimed != new_value:
            raise EditError(
                f"{path}: line {span.line} would be set to both {claimed!r} and {new_value!r}; "
                "check that the setter policies and repositories of this update agree"
            )
        if claimed is None or always_record:
            changes.append(change)
        planned[span] = new_value

    by_repository = {canonical_repository(u.repository): u for u in updates}
    for workload in scan.workloads:
        if workloads is not None and workload.id not in workloads:
            continue
        for container in workload.containers:
            update = by_repository.get(canonical_repository(container.image))
            if update is not None:
                new_image = _with_tag(container.image, update)
                if new_image != container.image:
                    record = _container_change(
                        path, container, new_image=new_image, workload_id=workload.id
                    )
                    plan(record, container.image_span, always_record=True)
    by_policy = {policy: u for u in updates for policy in u.setter_policies}
    for marker in scan.setter_markers:
        update = by_policy.get(marker.policy)
        if update is None or (workloads is not None and marker.workload_id not in workloads):
            continue
        new_value = _marker_value(marker, update)
        if new_value is not None and new_value != marker.value_span.value:
            record = ImageChange(
                path=path,
                workload_id=marker.workload_id,
                container=marker.container,
                setter_policy=marker.policy,
                old_value=marker.value_span.value,
                new_value=new_value,
                line=marker.value_span.line,
            )
            plan(record, marker.value_span, always_record=False)
    if not planned:
        return text, ()
    return replace_scalars(text, planned.items()), tuple(changes)


def _container_change(
    path: str, container: Container, *, new_image: str, workload_id: str
) -> ImageChange:
    return ImageChange(
        path=path,
        workload_id=workload_id,
        container=container.name,
        setter_policy=None,
        old_value=container.image,
        new_value=new_image,
        line=container.image_span.line,
    )


def _marker_value(marker: SetterMarker, update: ImageUpdate) -> str | None:
    if marker.field == "image":
        return _with_tag(marker.value_span.value, update)
    if marker.field == "tag":
        return update.tag
    if marker.field == "name":
        written = marker.value_span.value
        same = canonical_repository(written) == canonical_repository(update.repository)
        return written if same else split_image(update.repository)[0]
    return update.digest  # a ":digest" marker changes only when the update knows the digest


def apply_image_updates(
    files: Mapping[str, str],
    updates: Sequence[ImageUpdate],
    *,
    workloads: Collection[str] | None = None,
) -> ImageUpdateResult:
    """Apply ``updates`` across a set of files (path -> text): a directory in, a directory out.

    Files whose text does not contain any updated repository (or setter policy) are skipped
    before any parsing, which is what makes a 10,000-file repository fast.
    """
    keys = {_search_key(canonical_repository(u.repository)) for u in updates}
    keys.update(policy for u in updates for policy in u.setter_policies)
    changed: dict[str, str] = {}
    changes: list[ImageChange] = []
    problems: list[FileProblem] = []
    for path in sorted(files):
        text = files[path]
        if not any(key in text for key in keys):
            continue
        try:
            new_text, file_changes = update_images_in_text(
                text, updates, path=path, workloads=workloads
            )
        except (ManifestSyntaxError, EditError) as e:
            problems.append(FileProblem(path=path, message=str(e)))
            continue
        if new_text != text:
            changed[path] = new_text
            changes.extend(file_changes)
    return ImageUpdateResult(
        changed_files=changed, changes=tuple(changes), problems=tuple(problems)
    )
