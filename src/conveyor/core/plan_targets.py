"""What the automation plan decides about: container images and setter-marked values.

A :class:`Target` is one image value in one file, with what the plan needs to decide about it (the
workload's automation settings, the setter policy marking it). A setter policy's image repository
comes from conveyor's config or, failing that, from the ``image`` and ``:name`` markers that use it
(Flux v2 takes it from the ImageRepository the policy points at; conveyor reads it where the repo
already says it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from conveyor.core.edits import canonical_repository
from conveyor.core.images import ImageRefError, parse_image_ref
from conveyor.core.workload_settings import AutomationSettings
from conveyor.core.workloads import ManifestScan, SetterField, SetterMarker, Workload

__all__ = [
    "SetterRepository",
    "Target",
    "container_targets",
    "marker_targets",
    "setter_repositories_from_markers",
]


@dataclass(frozen=True)
class Target:
    """One image value the plan decides about: a container's image or a setter-marked value."""

    path: str
    line: int
    """1-based line of the value in the planned text."""
    written: str
    """The value as written: an image for containers and ``image`` markers, else a tag."""
    field: SetterField = "image"
    workload_id: str | None = None
    container: str | None = None
    init: bool = False
    setter_policy: str | None = None
    """The ``NS:NAME`` of the ``$imagepolicy`` marker on the value, if any."""
    settings: AutomationSettings | None = dataclasses.field(default=None, compare=False, repr=False)
    """The automation settings of the workload holding the value, if any."""

    @property
    def subject(self) -> str:
        """How explanations and commit messages name it, e.g. ``shop:deployment/web web``."""
        if self.container is not None and self.workload_id is not None:
            kind = "init container" if self.init else "container"
            return f"{self.workload_id} {kind} {self.container}"
        marker = f"{self.setter_policy}:{self.field}" if self.field != "image" else None
        where = f"{self.path}:{self.line} $imagepolicy {marker or self.setter_policy}"
        return f"{self.workload_id} {where}" if self.workload_id else where


@dataclass(frozen=True)
class SetterRepository:
    canonical: str
    written: str


def container_targets(path: str, scan: ManifestScan, workload: Workload) -> Iterator[Target]:
    """Every container image of ``workload``; a marker on the image line names its policy."""
    on_images = {
        marker.value_span: marker
        for marker in scan.setter_markers
        if marker.workload_id == workload.id and marker.container is not None
    }
    for container in workload.containers:
        marker = on_images.get(container.image_span)
        yield Target(
            path=path,
            line=container.image_span.line,
            written=container.image,
            workload_id=workload.id,
            container=container.name,
            init=container.init,
            setter_policy=marker.policy if marker is not None else None,
            settings=workload.automation,
        )


def marker_targets(path: str, scan: ManifestScan) -> Iterator[Target]:
    """Setter-marked images and tags that are not a container's image (values, kustomize...)."""
    settings = {w.id: w.automation for w in reversed(scan.workloads)}
    for marker in scan.setter_markers:
        if marker.container is not None or marker.field not in ("image", "tag"):
            continue
        yield Target(
            path=path,
            line=marker.value_span.line,
            written=marker.value_span.value,
            field=marker.field,
            workload_id=marker.workload_id,
            setter_policy=marker.policy,
            settings=settings.get(marker.workload_id) if marker.workload_id else None,
        )


def setter_repositories_from_markers(
    scans: Mapping[str, ManifestScan], *, configured: Mapping[str, str]
) -> dict[str, SetterRepository | str]:
    """Each setter policy's repository, or a sentence saying why it has none that can be used."""
    found: dict[str, SetterRepository | str] = {}
    for policy, repository in configured.items():
        try:
            name = parse_image_ref(repository).name
        except ImageRefError as e:
            found[policy] = f"setter policy {policy!r}: the configured repository is invalid: {e}"
            continue
        found[policy] = SetterRepository(canonical_repository(name), name)
    named: dict[str, dict[str, str]] = {}
    for scan in scans.values():
        for marker in scan.setter_markers:
            marked = _marked_name(marker)
            if marked is not None and marker.policy not in configured:
                named.setdefault(marker.policy, {}).setdefault(canonical_repository(marked), marked)
    for policy, names in named.items():
        if len(names) == 1:
            ((canonical, written),) = names.items()
            found[policy] = SetterRepository(canonical, written)
        else:
            found[policy] = (
                f"setter policy {policy!r}: its markers name different repositories "
                f"({', '.join(sorted(names))}); set its repository in conveyor's config"
            )
    return found


def _marked_name(marker: SetterMarker) -> str | None:
    if marker.field not in ("image", "name"):
        return None
    try:
        return parse_image_ref(marker.value_span.value).name
    except ImageRefError:
        return None  # the decision on that marker reports the unreadable image
