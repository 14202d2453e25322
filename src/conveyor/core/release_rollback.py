"""Planning a rollback: which image each container of a workload goes back to. No rebuild: a
rollback re-releases an image that was released before.

Where the target comes from:

- by default, "the image before the current release": the newest release that put a container
  on the image it runs now, and that release's old image. History entries are searched first;
  without them (a fresh state directory), the ``Conveyor-Change`` trailers of the config repo's
  commits. Rollbacks themselves are not "releases" here (nor automatic rollbacks), so rolling
  back twice goes further back instead of undoing the first rollback;
- ``to`` an image (``REPO:TAG``): the containers that run that repository get it;
- ``to`` a git revision: each container gets the image it had at that revision (the caller
  reads the workload there and passes its images).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from conveyor.core.commit_message import ReleasedChange, parse_change_trailers
from conveyor.core.edits import canonical_repository
from conveyor.core.images import ImageRefError, parse_image_ref
from conveyor.core.release import LocatedWorkload, ReleaseError
from conveyor.core.release_history import HistoryEntry, HistoryKind
from conveyor.core.release_message import parse_operation_kind
from conveyor.core.release_plan import PlannedEdit

__all__ = [
    "is_image_target",
    "rollback_from_changes",
    "rollback_from_history",
    "rollback_from_trailers",
    "rollback_to_image",
    "rollback_to_images",
]

# Entries that released an image a rollback may go back from.
_RELEASING_KINDS = frozenset({HistoryKind.RELEASE, HistoryKind.OUT_OF_BAND})


def is_image_target(to: str) -> bool:
    """True when ``to`` reads as an image with a tag or digest; else it is taken as a revision."""
    try:
        reference = parse_image_ref(to)
    except ImageRefError:
        return False
    return reference.tag is not None or reference.digest is not None


def rollback_from_changes(
    located: LocatedWorkload, releases: Iterable[Sequence[ReleasedChange]]
) -> tuple[PlannedEdit, ...]:
    """Edits back to the old images of the newest release (``releases``: newest first, each
    the changes of one release) that put a container of the workload on its current image."""
    current = {c.name: c.image for c in located.workload.containers}
    for changes in releases:
        matching = [
            change
            for change in changes
            if change.workload_id == located.id
            and change.container in current
            and current[change.container] == change.new_image
            and change.old_image != change.new_image
        ]
        if matching:
            return tuple(
                PlannedEdit(
                    path=located.path,
                    workload_id=located.id,
                    container=str(change.container),
                    old_image=change.new_image,
                    new_image=change.old_image,
                )
                for change in matching
            )
    return ()


def rollback_from_history(
    located: LocatedWorkload, entries: Iterable[HistoryEntry]
) -> tuple[PlannedEdit, ...]:
    """Like :func:`rollback_from_changes`, from history entries (newest first)."""
    return rollback_from_changes(
        located,
        (
            entry.changes_for(located.id)
            for entry in entries
            if entry.kind in _RELEASING_KINDS and entry.commit is not None
        ),
    )


def rollback_from_trailers(
    located: LocatedWorkload, messages: Iterable[str]
) -> tuple[PlannedEdit, ...]:
    """Like :func:`rollback_from_changes`, from commit messages (newest first). Commits that
    say they are rollbacks (``Conveyor-Kind: rollback``/``auto_rollback``) are passed over."""
    return rollback_from_changes(
        located,
        (
            parse_change_trailers(message)
            for message in messages
            if parse_operation_kind(message)
            not in (HistoryKind.ROLLBACK, HistoryKind.AUTO_ROLLBACK)
        ),
    )


def rollback_to_image(located: LocatedWorkload, image: str) -> tuple[PlannedEdit, ...]:
    """Edits putting every container that runs ``image``'s repository on ``image``."""
    repository = canonical_repository(image)
    matching = [
        c for c in located.workload.containers if canonical_repository(c.image) == repository
    ]
    if not matching:
        raise ReleaseError(
            f"no container of {located.id} runs an image of {repository}; name an image one of"
            f" its containers runs ({', '.join(c.image for c in located.workload.containers)})"
        )
    return tuple(
        PlannedEdit(located.path, located.id, c.name, c.image, image)
        for c in matching
        if c.image != image
    )


def rollback_to_images(
    located: LocatedWorkload, images: Mapping[str, str]
) -> tuple[PlannedEdit, ...]:
    """Edits putting each container on its image in ``images`` (container -> image, e.g. as a
    past revision had them); containers not in ``images`` stay as they are."""
    return tuple(
        PlannedEdit(located.path, located.id, c.name, c.image, images[c.name])
        for c in located.workload.containers
        if c.name in images and images[c.name] != c.image
    )
