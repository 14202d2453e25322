"""Release request data, workload views, the live diff and health verdicts."""

import pytest

from conveyor.core.release import (
    PolicyRequest,
    ReleaseError,
    WorkloadSelector,
    WorkloadView,
    normalize_workload_id,
    read_workloads,
)
from conveyor.core.release_diff import live_container_images, live_diff, object_ref, workload_health
from conveyor.core.release_plan import PlannedEdit
from conveyor.core.sync.health import Health, HealthStatus
from tests.core.release_samples import deployment, one

WEB = "shop:deployment/web"


@pytest.mark.parametrize(
    ("text", "normalized"),
    [
        ("shop:Deployment/web", "shop:deployment/web"),
        ("deployment/web", "default:deployment/web"),
        (" shop:statefulset/db ", "shop:statefulset/db"),
    ],
)
def test_workload_ids_are_normalized(text, normalized):
    assert normalize_workload_id(text) == normalized


def test_selector_matches_listed_or_all_less_excluded():
    selector = WorkloadSelector(all=True, exclude=("shop:deployment/api",))
    assert selector.matches(WEB) and not selector.matches("shop:deployment/api")
    listed = WorkloadSelector(ids=(WEB, "shop:deployment/gone"))
    assert listed.missing([WEB]) == ("shop:deployment/gone",)


def test_policy_requests_are_checked():
    with pytest.raises(ReleaseError, match="unknown action"):
        PolicyRequest(WorkloadSelector(all=True), "explode")  # type: ignore[arg-type]
    with pytest.raises(ReleaseError, match="names the container"):
        PolicyRequest(WorkloadSelector(all=True), "policy", pattern="glob:*")


def test_files_that_are_not_yaml_are_reported():
    found, problems = read_workloads({"bad.yaml": "a: [", "web.yaml": deployment("web")})
    assert [w.id for w in found] == [WEB]
    assert [p.path for p in problems] == ["bad.yaml"]


LIVE = {
    "kind": "Deployment",
    "spec": {
        "template": {
            "spec": {
                "initContainers": [{"name": "init", "image": "busybox:1"}],
                "containers": [{"name": "app", "image": "registry.invalid/web:0.9.0"}],
            }
        }
    },
}


def test_live_images_and_the_diff_against_the_plan():
    assert live_container_images(None) is None
    assert live_container_images(LIVE) == {"init": "busybox:1", "app": "registry.invalid/web:0.9.0"}
    edit = PlannedEdit(
        "web.yaml", WEB, "app", "registry.invalid/web:1.0.0", "registry.invalid/web:1.1.0"
    )
    [diff] = live_diff([edit], {WEB: live_container_images(LIVE)})
    assert diff.live_image == "registry.invalid/web:0.9.0" and diff.live_differs
    [absent] = live_diff([edit], {WEB: None})
    assert absent.live_image is None


def test_a_workload_view_shows_repo_and_live_images_and_settings():
    files = {
        "web.yaml": deployment(
            "web",
            annotations={"fluxcd.io/locked": "true", "conveyor.dev/tag.app": "glob:1.*"},
        )
    }
    view = WorkloadView.of(one(files, WEB), {"app": "registry.invalid/web:0.9.0"})
    assert view.locked and not view.automated and view.in_cluster
    [container] = view.containers
    assert (container.image, container.live_image, container.policy) == (
        "registry.invalid/web:1.0.0",
        "registry.invalid/web:0.9.0",
        "glob:1.*",
    )
    assert not WorkloadView.of(one(files, WEB), None).in_cluster


def test_health_per_workload():
    located = one({"web.yaml": deployment("web", namespace="")}, "default:deployment/web")
    ref = object_ref(located, default_namespace="apps")
    assert (ref.namespace, ref.name) == ("apps", "web")
    verdicts = {ref.key(): Health(HealthStatus.PROGRESSING, "0 of 1 available")}
    [health] = workload_health({located.id: ref}, verdicts)
    assert not health.healthy and health.reason == "0 of 1 available"
    [missing] = workload_health({located.id: ref}, {})
    assert missing.status == "Missing"


def test_a_workload_view_shows_the_exclude_and_min_age_that_apply_per_container():
    files = {
        "web.yaml": deployment(
            "web",
            annotations={"conveyor.dev/exclude": "*-rc*", "conveyor.dev/min-age.app": "1h"},
        )
    }
    [container] = WorkloadView.of(one(files, WEB), None).containers
    assert (container.exclude, container.min_age) == ("*-rc*", "1h")
    plain = WorkloadView.of(one({"web.yaml": deployment("web")}, WEB), None).containers[0]
    assert (plain.exclude, plain.min_age) == (None, None)
