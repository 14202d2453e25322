"""Out-of-band image changes: a container whose live image someone changed outside the repo.

``kubectl set image`` (or an edit, or another controller) can leave a workload running an image
the config repo does not say. Conveyor finds these by comparing, per container, the repo's image
with the live object's, and asks the live object's ``managedFields`` who wrote the image: when
conveyor's own apply still owns it, the difference is a commit not applied yet, not an
out-of-band change, and is left to the sync.

Per workload, the annotation ``conveyor.dev/out-of-band`` says what to do:

- ``revert`` (the default, and what any unknown value means): report it and let the sync's
  self-heal put the repo's image back;
- ``adopt``: write the live image into the repo as one commit marked as out-of-band
  (``Conveyor-Kind: out_of_band``), so the repo stays the truth and the change stays running.

Pure: the daemon (:mod:`conveyor.daemon.out_of_band`) reads the cluster and writes the commit.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from conveyor.core.commit_message import ReleasedChange
from conveyor.core.edits import set_container_image
from conveyor.core.release import LocatedWorkload
from conveyor.core.release_diff import live_container_images
from conveyor.core.release_history import HistoryKind
from conveyor.core.release_message import KIND_TRAILER, USER_TRAILER, clean_user
from conveyor.core.workloads import POD_SPEC_PATHS

__all__ = [
    "OUT_OF_BAND_ANNOTATION",
    "UNKNOWN_CHANGER",
    "OutOfBandChange",
    "OutOfBandMode",
    "adopt_message",
    "adopt_subject",
    "apply_adoption",
    "find_out_of_band",
    "image_manager",
    "out_of_band_mode",
]

OUT_OF_BAND_ANNOTATION = "conveyor.dev/out-of-band"
UNKNOWN_CHANGER = "out-of-band"
"""Who history names when the live object does not say which field manager wrote the image."""


class OutOfBandMode(StrEnum):
    REVERT = "revert"
    ADOPT = "adopt"


def out_of_band_mode(annotations: Mapping[str, str]) -> OutOfBandMode:
    """The workload's choice; anything but ``adopt`` reverts, so a typo never rewrites the repo."""
    value = annotations.get(OUT_OF_BAND_ANNOTATION, "").strip().lower()
    return OutOfBandMode.ADOPT if value == OutOfBandMode.ADOPT else OutOfBandMode.REVERT


@dataclass(frozen=True)
class OutOfBandChange:
    """One container running another image than the repo says, and who put it there."""

    workload_id: str
    path: str
    container: str
    repo_image: str
    live_image: str
    mode: OutOfBandMode
    changed_by: str

    def released_change(self) -> ReleasedChange:
        """As a history change and a ``Conveyor-Change`` trailer: repo image -> live image."""
        return ReleasedChange(
            self.workload_id, self.container, None, None, self.repo_image, self.live_image
        )

    def reverting_change(self) -> ReleasedChange:
        """What the sync's self-heal does about it: live image -> repo image."""
        return ReleasedChange(
            self.workload_id, self.container, None, None, self.live_image, self.repo_image
        )


def image_manager(live: Mapping[str, Any], container: str) -> str | None:
    """The field manager that owns ``container``'s image on the live object, if it says.

    ``managedFields`` keys list items by their merge key: ``k:{"name":"app"}``. Entries for a
    subresource (status, scale) never own the pod template, so they are skipped.
    """
    path = POD_SPEC_PATHS.get(str(live.get("kind")))
    if path is None:
        return None
    item_key = "k:" + json.dumps({"name": container}, separators=(",", ":"))
    metadata = live.get("metadata") or {}
    for entry in metadata.get("managedFields") or []:
        if not isinstance(entry, Mapping) or entry.get("subresource"):
            continue
        spec: Any = entry.get("fieldsV1")
        for key in path:
            spec = spec.get(f"f:{key}") if isinstance(spec, Mapping) else None
        for field in ("f:containers", "f:initContainers"):
            items = spec.get(field) if isinstance(spec, Mapping) else None
            item = items.get(item_key) if isinstance(items, Mapping) else None
            if isinstance(item, Mapping) and "f:image" in item:
                manager = entry.get("manager")
                return str(manager) if manager else None
    return None


def find_out_of_band(
    workloads: Iterable[LocatedWorkload],
    live: Mapping[str, Mapping[str, Any] | None],
    *,
    own_manager: str,
) -> tuple[OutOfBandChange, ...]:
    """Containers whose live image differs from the repo's and was not written by conveyor,
    in workloads conveyor applied before.

    ``live`` maps workload ids to live objects (None or missing: not in the cluster, nothing
    to compare). ``own_manager`` is the field manager conveyor's sync applies with.
    """
    found: list[OutOfBandChange] = []
    for located in workloads:
        body = live.get(located.id)
        images = live_container_images(body)
        if body is None or not images or not _applied_by(body, own_manager):
            continue  # absent, or never applied by conveyor: nothing it could call out-of-band
        workload = located.workload
        mode = out_of_band_mode({a.key: a.value for a in workload.annotations})
        for container in workload.containers:
            live_image = images.get(container.name)
            if live_image is None or live_image == container.image:
                continue
            manager = image_manager(body, container.name)
            if manager == own_manager:
                continue  # conveyor wrote it: a newer commit the sync has not applied yet
            found.append(
                OutOfBandChange(
                    workload_id=located.id,
                    path=located.path,
                    container=container.name,
                    repo_image=container.image,
                    live_image=live_image,
                    mode=mode,
                    changed_by=manager or UNKNOWN_CHANGER,
                )
            )
    return tuple(found)


def _applied_by(live: Mapping[str, Any], manager: str) -> bool:
    """Whether ``manager`` ever applied the object (a workload created by hand before conveyor
    took it over runs the image of the old way of deploying, not an out-of-band change)."""
    entries = (live.get("metadata") or {}).get("managedFields") or []
    return any(
        isinstance(e, Mapping) and e.get("manager") == manager and e.get("operation") == "Apply"
        for e in entries
    )


def apply_adoption(
    files: Mapping[str, str],
    workloads: Iterable[LocatedWorkload],
    changes: Sequence[OutOfBandChange],
) -> tuple[dict[str, str], tuple[OutOfBandChange, ...]]:
    """The new texts of the files the adoption changes, and the changes still to adopt.

    Decided on the files at the head the commit is made on: a container whose image there is
    no longer the one compared against (a commit landed meanwhile) is left to that commit.
    """
    current = {(w.id, c.name): (w.path, c.image) for w in workloads for c in w.workload.containers}
    texts: dict[str, str] = {}
    adopted: list[OutOfBandChange] = []
    for change in changes:
        path, image = current.get((change.workload_id, change.container), (None, None))
        if path is None or image != change.repo_image:
            continue
        text = texts.get(path, files[path])
        texts[path] = set_container_image(
            text,
            workload_id=change.workload_id,
            container=change.container,
            image=change.live_image,
        )
        adopted.append(change)
    return texts, tuple(adopted)


def adopt_subject(changes: Sequence[OutOfBandChange]) -> str:
    """``Adopt out-of-band image change of W: old -> new`` (one workload's changes)."""
    workloads = ", ".join(dict.fromkeys(c.workload_id for c in changes))
    if len(changes) == 1:
        [change] = changes
        return (
            f"Adopt out-of-band image change of {workloads}: "
            f"{change.repo_image} -> {change.live_image}"
        )
    return f"Adopt {len(changes)} out-of-band image changes of {workloads}"


def adopt_message(changes: Sequence[OutOfBandChange]) -> str:
    """The commit message: subject, one line per container, and the trailers that mark it."""
    changers = ", ".join(dict.fromkeys(c.changed_by for c in changes))
    released = [change.released_change() for change in changes]
    details = [
        f"The live image was changed outside the repo by {changers}; the workload is annotated"
        f" {OUT_OF_BAND_ANNOTATION}: adopt, so the repo now says what runs.",
        "\n".join(change.summary_line() for change in released),
    ]
    trailers = [
        *(change.trailer() for change in released),
        f"{KIND_TRAILER}: {HistoryKind.OUT_OF_BAND.value}",
        f"{USER_TRAILER}: {clean_user(changers)}",
    ]
    return "\n\n".join([adopt_subject(changes), *details, "\n".join(trailers)]) + "\n"
