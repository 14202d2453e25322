"""Rollback targets: from history, from commit trailers, to an image, to a revision's images."""

from datetime import UTC, datetime

import pytest

from conveyor.core.commit_message import ReleasedChange
from conveyor.core.release import ReleaseError
from conveyor.core.release_history import HistoryEntry, HistoryKind, HistoryResult
from conveyor.core.release_message import release_message, rollback_message
from conveyor.core.release_rollback import (
    is_image_target,
    rollback_from_history,
    rollback_from_trailers,
    rollback_to_image,
    rollback_to_images,
)
from tests.core.release_samples import deployment, one

WEB = "shop:deployment/web"
FILES = {
    "web.yaml": deployment(
        "web", images={"app": "registry.invalid/app:1.2.0", "proxy": "registry.invalid/proxy:3"}
    )
}


def change(old, new, *, workload=WEB, container="app"):
    return ReleasedChange(workload, container, None, None, old, new)


def entry(kind, *changes, commit="abc"):
    return HistoryEntry(
        kind=kind,
        user="alice",
        message="",
        time=datetime(2025, 1, 1, tzinfo=UTC),
        workloads=(WEB,),
        commit=commit,
        result=HistoryResult.SUCCEEDED,
        changes=changes,
    )


def targets(edits):
    return [(e.container, e.old_image, e.new_image) for e in edits]


def test_history_gives_the_image_before_the_current_release():
    history = [  # newest first
        entry(
            HistoryKind.ROLLBACK, change("registry.invalid/app:1.3.0", "registry.invalid/app:1.2.0")
        ),
        entry(
            HistoryKind.RELEASE, change("registry.invalid/app:1.2.0", "registry.invalid/app:1.3.0")
        ),
        entry(
            HistoryKind.RELEASE, change("registry.invalid/app:1.1.0", "registry.invalid/app:1.2.0")
        ),
    ]
    # The rollback entry is passed over, and so is the release whose image no longer runs.
    assert targets(rollback_from_history(one(FILES, WEB), history)) == [
        ("app", "registry.invalid/app:1.2.0", "registry.invalid/app:1.1.0")
    ]


def test_entries_without_a_commit_or_for_other_workloads_do_not_count():
    history = [
        entry(HistoryKind.RELEASE, change("a:1", "registry.invalid/app:1.2.0"), commit=None),
        entry(
            HistoryKind.RELEASE,
            change("b:1", "registry.invalid/app:1.2.0", workload="x:deployment/y"),
        ),
    ]
    assert rollback_from_history(one(FILES, WEB), history) == ()


def test_trailers_of_commit_messages_are_the_fallback():
    release = release_message(
        [change("registry.invalid/app:1.1.0", "registry.invalid/app:1.2.0")], user="ci"
    )
    rollback = rollback_message(
        WEB, [change("registry.invalid/app:1.3.0", "registry.invalid/app:1.2.0")], user="bob"
    )
    plain = (
        "Bump proxy\n\nConveyor-Change: shop:deployment/web proxy"
        " registry.invalid/proxy:2 -> registry.invalid/proxy:3\n"
    )
    edits = rollback_from_trailers(one(FILES, WEB), [rollback, plain, release])
    assert targets(edits) == [("proxy", "registry.invalid/proxy:3", "registry.invalid/proxy:2")]
    assert targets(rollback_from_trailers(one(FILES, WEB), [rollback, release])) == [
        ("app", "registry.invalid/app:1.2.0", "registry.invalid/app:1.1.0")
    ]


def test_to_an_image_sets_the_containers_of_its_repository():
    assert targets(rollback_to_image(one(FILES, WEB), "registry.invalid/app:1.0.0")) == [
        ("app", "registry.invalid/app:1.2.0", "registry.invalid/app:1.0.0")
    ]
    with pytest.raises(ReleaseError, match="no container"):
        rollback_to_image(one(FILES, WEB), "registry.invalid/other:1")


def test_to_a_revision_sets_each_container_to_its_image_there():
    edits = rollback_to_images(
        one(FILES, WEB), {"app": "registry.invalid/app:1.0.0", "proxy": "registry.invalid/proxy:3"}
    )
    assert targets(edits) == [("app", "registry.invalid/app:1.2.0", "registry.invalid/app:1.0.0")]


@pytest.mark.parametrize(
    ("to", "image"),
    [
        ("registry.invalid/app:1.0.0", True),
        ("app@sha256:" + "a" * 64, True),
        ("main~2", False),
        ("4f2a9c1", False),
        ("HEAD", False),
    ],
)
def test_a_target_is_an_image_when_it_has_a_tag_or_digest(to, image):
    assert is_image_target(to) is image
