"""Release planning honours the exclude and min-age annotations: an explicit image of an
excluded tag is refused unless forced, and "every image per policy" skips excluded and too-young
tags; a bad annotation value is the container's reason to be skipped."""

from datetime import UTC, datetime, timedelta

from conveyor.core.policy import TagCandidate
from conveyor.core.release import WorkloadSelector
from conveyor.core.release_plan import plan_release
from tests.core.release_samples import deployment, workloads_of

NOW = datetime(2025, 3, 1, tzinfo=UTC)
WEB = "shop:deployment/web"


def workloads(**annotations: str):
    files = {
        "web.yaml": deployment(
            "web", images={"app": "registry.invalid/app:1.0.0"}, annotations=annotations
        )
    }
    return workloads_of(files)


def test_an_explicit_release_of_an_excluded_tag_is_refused_unless_forced():
    found = workloads(**{"conveyor.dev/tag.app": "semver:~1", "conveyor.dev/exclude.app": "*-rc*"})
    selector = WorkloadSelector(ids=(WEB,))
    refused = plan_release(found, selector, image="registry.invalid/app:1.1.0-rc1", now=NOW)
    assert refused.edits == ()
    [skip] = refused.skipped
    assert "does not admit it" in skip.reason and "*-rc*" in skip.reason
    forced = plan_release(
        found, selector, image="registry.invalid/app:1.1.0-rc1", force=True, now=NOW
    )
    assert [e.new_image for e in forced.edits] == ["registry.invalid/app:1.1.0-rc1"]


def test_every_image_per_policy_skips_excluded_and_too_young_tags():
    found = workloads(**{"conveyor.dev/exclude": "*-rc*", "conveyor.dev/min-age.app": "1h"})
    tags = {
        "registry.invalid/app": [
            TagCandidate("1.0.0", created=NOW - timedelta(days=9)),
            TagCandidate("1.0.1", created=NOW - timedelta(hours=3)),
            TagCandidate("1.0.2", created=NOW - timedelta(minutes=5)),
            TagCandidate("1.0.3-rc1", created=NOW - timedelta(hours=2)),
        ]
    }
    result = plan_release(found, WorkloadSelector(all=True), image=None, tags=tags, now=NOW)
    assert [e.new_image for e in result.edits] == ["registry.invalid/app:1.0.1"]
    assert "registry.invalid/app" in result.repositories_needing_created_times


def test_a_bad_annotation_value_skips_the_container_with_the_reason():
    found = workloads(**{"conveyor.dev/min-age.app": "soon"})
    tags = {"registry.invalid/app": [TagCandidate("1.0.1", created=NOW - timedelta(days=1))]}
    result = plan_release(found, WorkloadSelector(all=True), image=None, tags=tags, now=NOW)
    assert result.edits == ()
    [skip] = result.skipped
    assert skip.container == "app"
    assert "conveyor.dev/min-age.app" in skip.reason and "soon" in skip.reason
