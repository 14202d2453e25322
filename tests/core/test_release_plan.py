"""Release planning: selection, explicit images, tag filters, locks, force, every image per
policy, and byte-exact application."""

from datetime import UTC, datetime, timedelta

import pytest

from conveyor.core.policy import TagCandidate
from conveyor.core.release import ReleaseError, WorkloadSelector
from conveyor.core.release_plan import apply_release, plan_release
from tests.core.release_samples import deployment, workloads_of

NOW = datetime(2025, 3, 1, tzinfo=UTC)

FILES = {
    "web.yaml": deployment("web", images={"app": "registry.invalid/app:1.0.0"}),
    "api.yaml": deployment(
        "api",
        images={"app": "registry.invalid/app:1.0.0", "sidecar": "registry.invalid/proxy:3"},
        annotations={"conveyor.dev/tag.app": "semver:~1.0"},
    ),
    "admin.yaml": deployment(
        "admin",
        images={"app": "registry.invalid/app:1.0.0"},
        annotations={"conveyor.dev/locked": "true", "conveyor.dev/locked-reason": "audit"},
    ),
    "other.yaml": deployment("other", images={"app": "docker.io/library/nginx:1.25"}),
}
ALL = WorkloadSelector(all=True)


def plan(selector=ALL, **kwargs):
    kwargs.setdefault("image", "registry.invalid/app:1.0.1")
    return plan_release(workloads_of(FILES), selector, now=NOW, **kwargs)


def moved(result):
    return {(e.workload_id, e.container): e.new_image for e in result.edits}


def test_an_image_goes_to_every_selected_container_of_its_repository():
    result = plan()
    assert moved(result) == {
        ("shop:deployment/web", "app"): "registry.invalid/app:1.0.1",
        ("shop:deployment/api", "app"): "registry.invalid/app:1.0.1",
    }
    assert [(s.workload_id, s.reason.split(" (")[0]) for s in result.skipped] == [
        ("shop:deployment/admin", "locked")
    ]


def test_selection_by_id_and_exclusion():
    result = plan(WorkloadSelector(ids=("shop:Deployment/web", "shop:deployment/gone")))
    assert moved(result) == {("shop:deployment/web", "app"): "registry.invalid/app:1.0.1"}
    assert result.skipped[0].workload_id == "shop:deployment/gone"
    excluded = plan(WorkloadSelector(all=True, exclude=("shop:deployment/web",)))
    assert ("shop:deployment/web", "app") not in moved(excluded)


def test_a_listed_workload_without_the_repository_says_so():
    result = plan(WorkloadSelector(ids=("shop:deployment/other",)))
    assert result.edits == ()
    assert "no container runs an image of registry.invalid/app" in result.skipped[0].reason


def test_tag_filters_and_locks_hold_unless_forced():
    result = plan(image="registry.invalid/app:2.0.0")
    assert ("shop:deployment/api", "app") not in moved(result)
    refusal = next(s for s in result.skipped if s.workload_id == "shop:deployment/api")
    assert "does not admit" in refusal.reason and refusal.container == "app"
    forced = plan(image="registry.invalid/app:2.0.0", force=True)
    assert set(moved(forced)) == {
        ("shop:deployment/web", "app"),
        ("shop:deployment/api", "app"),
        ("shop:deployment/admin", "app"),
    }


def test_an_image_already_running_is_skipped():
    result = plan(
        WorkloadSelector(ids=("shop:deployment/web",)), image="registry.invalid/app:1.0.0"
    )
    assert result.edits == () and "already runs" in result.skipped[0].reason


@pytest.mark.parametrize(
    "image", ["registry.invalid/app", "not an image", "registry.invalid/app:-bad"]
)
def test_an_image_without_a_usable_tag_is_refused(image):
    with pytest.raises(ReleaseError):
        plan(image=image)


def test_a_selector_must_select_something():
    with pytest.raises(ReleaseError, match="none were selected"):
        WorkloadSelector()
    with pytest.raises(ReleaseError, match="namespace:kind/name"):
        WorkloadSelector(ids=("web",))


def test_every_image_per_policy_needs_tags_then_follows_each_policy():
    first = plan(image=None)
    assert first.edits == ()
    assert first.repositories == {
        "registry.invalid/app",
        "registry.invalid/proxy",
        "docker.io/library/nginx",
    }
    # No policy of their own: the default (newest build) needs build times.
    assert "registry.invalid/app" in first.repositories_needing_created_times

    old, new = NOW - timedelta(days=2), NOW - timedelta(days=1)
    tags = {
        "registry.invalid/app": [
            TagCandidate("1.0.0", created=old),
            TagCandidate("1.0.5", created=old),
            TagCandidate("2.0.0", created=new),
        ],
        "registry.invalid/proxy": [TagCandidate("3", created=old), TagCandidate("4", created=new)],
    }
    second = plan(image=None, tags=tags)
    assert moved(second) == {
        ("shop:deployment/web", "app"): "registry.invalid/app:2.0.0",  # newest build
        ("shop:deployment/api", "app"): "registry.invalid/app:1.0.5",  # its semver:~1.0
        ("shop:deployment/api", "sidecar"): "registry.invalid/proxy:4",
    }
    unscanned = next(s for s in second.skipped if s.workload_id == "shop:deployment/other")
    assert unscanned.reason == "no tags of docker.io/library/nginx were scanned"
    forced = plan(image=None, tags=tags, force=True)
    assert moved(forced)[("shop:deployment/api", "app")] == "registry.invalid/app:2.0.0"


def test_applying_changes_only_the_image_values():
    result = plan(WorkloadSelector(ids=("shop:deployment/api",)))
    changed = apply_release(FILES, result.edits)
    assert list(changed) == ["api.yaml"]
    assert changed["api.yaml"] == FILES["api.yaml"].replace(
        "registry.invalid/app:1.0.0", "registry.invalid/app:1.0.1"
    )
    assert [c.trailer() for c in result.changes] == [
        "Conveyor-Change: shop:deployment/api app registry.invalid/app:1.0.0"
        " -> registry.invalid/app:1.0.1"
    ]
