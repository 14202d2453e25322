"""The automation plan: which workloads move, which stay, and why; all pure, with texts in."""

from datetime import UTC, datetime, timedelta

import pytest

from conveyor.core.plan import FLUX_V1_DEFAULT_POLICY, Outcome, plan_automation
from conveyor.core.plan_apply import apply_plan
from conveyor.core.plan_explain import explain_plan
from conveyor.core.policy import Reason, TagCandidate, parse_policy

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
APP = "registry.example.com/team/app"
AUTOMATED = {"conveyor.dev/automated": "true"}


def deployment(
    name: str, image: str, annotations: dict[str, str], *, container: str = "app"
) -> str:
    written = "".join(f"\n    {key}: {value!r}" for key, value in annotations.items())
    return (
        "apiVersion: apps/v1\n"
        "kind: Deployment\n"
        "metadata:\n"
        f"  name: {name}\n"
        "  namespace: shop\n"
        f"  annotations:{written or ' {}'}\n"
        "spec:\n"
        "  template:\n"
        "    spec:\n"
        "      containers:\n"
        f"      - name: {container}\n"
        f"        image: {image}  # the app\n"
    )


def candidates(*names: str, created: dict[str, datetime] | None = None) -> list[TagCandidate]:
    return [TagCandidate(name, created=(created or {}).get(name)) for name in names]


def outcomes(plan) -> dict[str, Outcome]:
    return {d.subject: d.outcome for d in plan.decisions}


def changed_lines(before: str, after: str) -> list[tuple[str, str]]:
    pairs = zip(before.splitlines(keepends=True), after.splitlines(keepends=True), strict=True)
    return [(old, new) for old, new in pairs if old != new]


ACCEPTANCE = "---\n".join(
    [
        deployment("web", f"{APP}:1.2.3", {**AUTOMATED, "conveyor.dev/tag.app": "semver:~1.2"}),
        deployment(
            "pinned",
            f"{APP}:1.2.3",
            {
                **AUTOMATED,
                "conveyor.dev/tag.app": "semver:~1.2",
                "conveyor.dev/locked": "true",
                "conveyor.dev/locked-reason": "incident 42",
                "conveyor.dev/locked-by": "alice",
            },
        ),
        deployment("next", f"{APP}:1.3.0", {**AUTOMATED, "conveyor.dev/tag.app": "semver:~1.3"}),
    ]
)


def test_acceptance_one_workload_moves_and_the_explanation_says_why_for_each():
    files = {"apps/shop.yaml": ACCEPTANCE}
    tags = {APP: candidates("1.2.3", "1.2.4", "1.3.0", "1.4.0")}

    plan = plan_automation(files, tags=tags, setter_policies={}, now=NOW)

    assert outcomes(plan) == {
        "shop:deployment/web container app": Outcome.UPDATE,
        "shop:deployment/pinned container app": Outcome.LOCKED,
        "shop:deployment/next container app": Outcome.UP_TO_DATE,
    }
    (moving,) = plan.updating
    assert (moving.old_image, moving.new_image) == (f"{APP}:1.2.3", f"{APP}:1.2.4")
    assert [(u.repository, u.tag) for u in plan.updates] == [(APP, "1.2.4")]

    result = apply_plan(files, plan)
    assert result.problems == ()
    assert changed_lines(ACCEPTANCE, result.changed_files["apps/shop.yaml"]) == [
        (f"        image: {APP}:1.2.3  # the app\n", f"        image: {APP}:1.2.4  # the app\n")
    ]
    assert ACCEPTANCE.count(f"{APP}:1.2.3") == 2  # the locked one shares the old image

    explanation = "\n".join(explain_plan(plan))
    assert "shop:deployment/web container app" in explanation
    assert "1.2.4: chosen, the highest version in range ~1.2" in explanation
    assert "1.3.0: outside range ~1.2" in explanation
    assert "locked by alice: incident 42" in explanation
    assert "1.3.0 is up to date under semver:~1.3" in explanation
    assert "1.4.0: outside range ~1.3" in explanation


def test_flux_v1_annotations_are_read_unchanged():
    files = {
        "a.yaml": deployment(
            "web", "app:1.2.3", {"fluxcd.io/automated": "true", "fluxcd.io/tag.app": "semver:~1.2"}
        ),
        "b.yaml": deployment(
            "worker",
            "app:1.2.3",
            {"fluxcd.io/automated": "true", "filter.fluxcd.io/app": "glob:1.2.*"},
        ),
        "c.yaml": deployment(
            "frozen",
            "app:1.2.3",
            {
                "fluxcd.io/automated": "true",
                "fluxcd.io/locked": "true",
                "fluxcd.io/locked_msg": "waiting for the migration",
                "fluxcd.io/locked_user": "bob",
            },
        ),
    }
    created = {"1.2.3": NOW - timedelta(days=3), "1.2.4": NOW - timedelta(days=1)}
    created["1.2.5-rc.1"] = NOW - timedelta(hours=1)
    tags = {"docker.io/library/app": candidates("1.2.3", "1.2.4", "1.2.5-rc.1", created=created)}

    plan = plan_automation(files, tags=tags, setter_policies={}, now=NOW)

    by_workload = {d.target.workload_id: d for d in plan.decisions}
    semver = by_workload["shop:deployment/web"]
    assert (semver.outcome, semver.new_tag) == (Outcome.UPDATE, "1.2.4")
    # Flux v1's glob ranks by build time: the newest matching build wins, a prerelease included.
    glob = by_workload["shop:deployment/worker"]
    assert (glob.outcome, glob.new_tag) == (Outcome.UPDATE, "1.2.5-rc.1")
    frozen = by_workload["shop:deployment/frozen"]
    assert frozen.outcome is Outcome.LOCKED
    assert "bob" in frozen.reason and "waiting for the migration" in frozen.reason
    assert plan.repositories_needing_created_times == {"docker.io/library/app"}

    result = apply_plan(files, plan)
    assert set(result.changed_files) == {"a.yaml", "b.yaml"}
    assert "image: app:1.2.5-rc.1  # the app" in result.changed_files["b.yaml"]


KUSTOMIZATION = """apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - deployment.yaml
images:
  - name: podinfo
    newName: ghcr.io/stefanprodan/podinfo # {"$imagepolicy": "flux-system:podinfo:name"}
    newTag: 6.5.0 # {"$imagepolicy": "flux-system:podinfo:tag"}
"""
MARKED_DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: frontend
spec:
  template:
    spec:
      containers:
        - name: frontend
          image: "ghcr.io/stefanprodan/podinfo:6.5.0"   # {"$imagepolicy": "flux-system:podinfo"}
        - name: cache
          image: redis:7.0.0
"""
HELM_VALUES = """# Helm values for podinfo
image:
  repository: ghcr.io/stefanprodan/podinfo # {"$imagepolicy": "flux-system:podinfo:name"}
  tag: "6.5.0" # {"$imagepolicy": "flux-system:podinfo:tag"}
redis:
  image:
    repository: redis
    tag: 7.0.0 # {"$imagepolicy": "flux-system:redis:tag"}
"""
PODINFO = "ghcr.io/stefanprodan/podinfo"


def test_flux_v2_setter_markers_on_an_image_in_kustomize_images_and_in_helm_values():
    files = {
        "app/kustomization.yaml": KUSTOMIZATION,
        "app/deployment.yaml": MARKED_DEPLOYMENT,
        "chart/values.yaml": HELM_VALUES,
    }
    setter_policies = {
        "flux-system:podinfo": parse_policy("semver:>=6.0.0"),
        "flux-system:redis": parse_policy("semver:~7.0"),
    }
    tags = {
        PODINFO: candidates("6.5.0", "6.6.0", "7.0.0-rc.1"),
        "docker.io/library/redis": candidates("7.0.0", "7.0.1", "7.2.0"),
    }

    plan = plan_automation(files, tags=tags, setter_policies=setter_policies, now=NOW)

    assert outcomes(plan) == {
        "default:deployment/frontend container frontend": Outcome.UPDATE,
        # not marked and not annotated: a marker elsewhere in the workload does not automate it
        "default:deployment/frontend container cache": Outcome.NOT_AUTOMATED,
        "app/kustomization.yaml:8 $imagepolicy flux-system:podinfo:tag": Outcome.UPDATE,
        "chart/values.yaml:4 $imagepolicy flux-system:podinfo:tag": Outcome.UPDATE,
        # the redis setter's repository is written unmarked: conveyor cannot know it
        "chart/values.yaml:8 $imagepolicy flux-system:redis:tag": Outcome.POLICY_ERROR,
    }
    result = apply_plan(files, plan)
    assert result.problems == ()
    assert changed_lines(KUSTOMIZATION, result.changed_files["app/kustomization.yaml"]) == [
        (
            '    newTag: 6.5.0 # {"$imagepolicy": "flux-system:podinfo:tag"}\n',
            '    newTag: 6.6.0 # {"$imagepolicy": "flux-system:podinfo:tag"}\n',
        )
    ]
    assert f'image: "{PODINFO}:6.6.0"   #' in result.changed_files["app/deployment.yaml"]
    assert "image: redis:7.0.0\n" in result.changed_files["app/deployment.yaml"]
    assert changed_lines(HELM_VALUES, result.changed_files["chart/values.yaml"]) == [
        (
            '  tag: "6.5.0" # {"$imagepolicy": "flux-system:podinfo:tag"}\n',
            '  tag: "6.6.0" # {"$imagepolicy": "flux-system:podinfo:tag"}\n',
        )
    ]


def test_a_configured_setter_repository_makes_a_tag_only_marker_usable():
    plan = plan_automation(
        {"values.yaml": HELM_VALUES},
        tags={"docker.io/library/redis": candidates("7.0.0", "7.0.1", "7.2.0"), PODINFO: []},
        setter_policies={"flux-system:redis": parse_policy("semver:~7.0")},
        setter_repositories={"flux-system:redis": "redis"},
        now=NOW,
    )
    by_policy = {d.target.setter_policy: d for d in plan.decisions}
    assert by_policy["flux-system:podinfo"].outcome is Outcome.NO_POLICY
    assert "no setter policy" in by_policy["flux-system:podinfo"].reason
    redis = by_policy["flux-system:redis"]
    assert (redis.outcome, redis.old_image, redis.new_image) == (
        Outcome.UPDATE,
        "redis:7.0.0",
        "redis:7.0.1",
    )
    result = apply_plan({"values.yaml": HELM_VALUES}, plan)
    assert changed_lines(HELM_VALUES, result.changed_files["values.yaml"]) == [
        (
            '    tag: 7.0.0 # {"$imagepolicy": "flux-system:redis:tag"}\n',
            '    tag: 7.0.1 # {"$imagepolicy": "flux-system:redis:tag"}\n',
        )
    ]


def test_docker_hub_short_and_long_names_are_one_repository():
    annotations = {**AUTOMATED, "conveyor.dev/tag.app": "semver:^1"}
    files = {
        "short.yaml": deployment("short", "app:1.0.0", annotations),
        "long.yaml": deployment("long", "docker.io/library/app:1.0.0", annotations),
        "index.yaml": deployment("index", "index.docker.io/app:1.0.0", annotations),
    }
    plan = plan_automation(
        files,
        tags={"docker.io/library/app": candidates("1.0.0", "1.1.0")},
        setter_policies={},
        now=NOW,
    )
    assert plan.repositories == {"docker.io/library/app"}
    assert [d.outcome for d in plan.decisions] == [Outcome.UPDATE] * 3
    result = apply_plan(files, plan)
    assert "image: app:1.1.0  #" in result.changed_files["short.yaml"]
    assert "image: docker.io/library/app:1.1.0  #" in result.changed_files["long.yaml"]
    assert "image: index.docker.io/app:1.1.0  #" in result.changed_files["index.yaml"]


def test_a_policy_error_is_reported_and_other_workloads_still_move():
    files = {
        "bad.yaml": deployment(
            "bad", "app:1.0.0", {**AUTOMATED, "conveyor.dev/tag.app": "semver:~~1"}
        ),
        "regex.yaml": deployment(
            "regex", "app:1.0.0", {**AUTOMATED, "conveyor.dev/tag.app": "regex:(?P<a>x)(?P<b>y)"}
        ),
        "good.yaml": deployment(
            "good", "app:1.0.0", {**AUTOMATED, "conveyor.dev/tag.app": "semver:^1"}
        ),
        "broken.yaml": "image: [unclosed\n",
    }
    plan = plan_automation(
        files,
        tags={"docker.io/library/app": candidates("1.0.0", "1.1.0")},
        setter_policies={},
        now=NOW,
    )
    by_workload = {d.target.workload_id: d for d in plan.decisions}
    bad = by_workload["shop:deployment/bad"]
    assert bad.outcome is Outcome.POLICY_ERROR
    assert "semver:~~1" in bad.reason and "conveyor.dev/tag.app" in bad.reason
    assert by_workload["shop:deployment/regex"].outcome is Outcome.POLICY_ERROR
    assert "several named groups" in by_workload["shop:deployment/regex"].reason
    assert by_workload["shop:deployment/good"].outcome is Outcome.UPDATE
    assert [p.path for p in plan.problems] == ["broken.yaml"]
    assert set(apply_plan(files, plan).changed_files) == {"good.yaml"}


def test_min_age_keeps_a_too_young_build_out_and_asks_for_build_times():
    created = {
        "1.2.3": NOW - timedelta(days=10),
        "1.2.4": NOW - timedelta(days=2),
        "1.2.5": NOW - timedelta(minutes=20),
    }
    policy = parse_policy("semver:~1.2", min_age="1h")
    # The min-age policy comes in as the default (an annotation has no min-age syntax).
    plan = plan_automation(
        {"web.yaml": deployment("web", "app:1.2.3", AUTOMATED)},
        tags={"docker.io/library/app": candidates(*created, created=created)},
        setter_policies={},
        now=NOW,
        default_policy=policy,
    )
    (decision,) = plan.decisions
    assert (decision.outcome, decision.new_tag) == (Outcome.UPDATE, "1.2.4")
    assert decision.selection is not None
    assert decision.selection.verdict("1.2.5").reason is Reason.TOO_YOUNG
    assert plan.repositories_needing_created_times == {"docker.io/library/app"}
    assert any("1.2.5: too young" in line for line in explain_plan(plan))


def test_no_change_when_everything_is_up_to_date():
    files = {"apps/shop.yaml": ACCEPTANCE}
    plan = plan_automation(
        files, tags={APP: candidates("1.2.2", "1.2.3", "1.3.0")}, setter_policies={}, now=NOW
    )
    assert plan.updates == ()
    assert outcomes(plan)["shop:deployment/web container app"] is Outcome.UP_TO_DATE
    result = apply_plan(files, plan)
    assert (dict(result.changed_files), result.changes, result.problems) == ({}, (), ())


def test_without_tags_the_plan_lists_the_repositories_to_scan():
    files = {
        "a.yaml": deployment("a", "app:1.0.0", {**AUTOMATED, "conveyor.dev/tag.app": "newest"}),
        "b.yaml": deployment(
            "b", "ghcr.io/org/tool:2", {**AUTOMATED, "conveyor.dev/tag.app": "semver:^2"}
        ),
        "c.yaml": deployment("c", "quay.io/org/manual:1", {}),
    }
    plan = plan_automation(
        files, tags={}, setter_policies={}, now=NOW, scan_errors={"ghcr.io/org/tool": "401 denied"}
    )
    assert plan.repositories == {"docker.io/library/app", "ghcr.io/org/tool"}
    assert plan.repositories_needing_created_times == {"docker.io/library/app"}
    reasons = {d.target.workload_id: d.reason for d in plan.decisions}
    assert (
        reasons["shop:deployment/a"]
        == "no tags known for docker.io/library/app yet: it has not been scanned"
    )
    assert "its scan failed: 401 denied" in reasons["shop:deployment/b"]
    assert outcomes(plan)["shop:deployment/c container app"] is Outcome.NOT_AUTOMATED


@pytest.mark.parametrize(
    ("default_policy", "outcome", "new_tag"),
    [(None, Outcome.NO_POLICY, None), (FLUX_V1_DEFAULT_POLICY, Outcome.UPDATE, "nightly")],
)
def test_automated_without_a_tag_policy_uses_the_default_policy_or_says_so(
    default_policy, outcome, new_tag
):
    created = {"1.0.0": NOW - timedelta(days=5), "nightly": NOW - timedelta(hours=2)}
    plan = plan_automation(
        {"a.yaml": deployment("a", "app:1.0.0", AUTOMATED)},
        tags={"docker.io/library/app": candidates(*created, created=created)},
        setter_policies={},
        now=NOW,
        default_policy=default_policy,
    )
    (decision,) = plan.decisions
    assert (decision.outcome, decision.new_tag) == (outcome, new_tag)
    if outcome is Outcome.NO_POLICY:
        assert "conveyor.dev/tag.app" in decision.reason


def test_conveyors_annotation_wins_over_flux_v1s_and_false_means_off():
    both = {
        "conveyor.dev/automated": "false",
        "fluxcd.io/automated": "true",
        "fluxcd.io/tag.app": "semver:~1.2",
    }
    precedence = {
        **AUTOMATED,
        "conveyor.dev/tag.app": "semver:~1.3",
        "fluxcd.io/tag.app": "semver:~1.2",
    }
    plan = plan_automation(
        {
            "a.yaml": deployment("off", "app:1.2.3", both),
            "b.yaml": deployment("on", "app:1.2.3", precedence),
        },
        tags={"docker.io/library/app": candidates("1.2.4", "1.3.1")},
        setter_policies={},
        now=NOW,
    )
    by_workload = {d.target.workload_id: d for d in plan.decisions}
    assert by_workload["shop:deployment/off"].outcome is Outcome.NOT_AUTOMATED
    assert by_workload["shop:deployment/on"].new_tag == "1.3.1"


def test_unreadable_images_and_no_candidates_are_reported():
    files = {
        "a.yaml": deployment(
            "templated", "'${IMAGE}'", {**AUTOMATED, "conveyor.dev/tag.app": "semver:^1"}
        ),
        "b.yaml": deployment(
            "stuck", "app:0.9.0", {**AUTOMATED, "conveyor.dev/tag.app": "semver:^1"}
        ),
    }
    plan = plan_automation(
        files,
        tags={"docker.io/library/app": candidates("0.9.0", "2.0.0")},
        setter_policies={},
        now=NOW,
    )
    by_workload = {d.target.workload_id: d for d in plan.decisions}
    assert by_workload["shop:deployment/templated"].outcome is Outcome.INVALID_IMAGE
    stuck = by_workload["shop:deployment/stuck"]
    assert stuck.outcome is Outcome.NO_CANDIDATE
    assert "no tag passes semver:^1" in stuck.reason


def test_a_pinned_digest_moves_to_the_chosen_tags_digest():
    old = "sha256:" + "a" * 64
    new = "sha256:" + "b" * 64
    files = {
        "a.yaml": deployment(
            "a", f"app:1.0.0@{old}", {**AUTOMATED, "conveyor.dev/tag.app": "semver:^1"}
        )
    }
    tags = {
        "docker.io/library/app": [
            TagCandidate("1.0.0", digest=old),
            TagCandidate("1.1.0", digest=new),
        ]
    }
    plan = plan_automation(files, tags=tags, setter_policies={}, now=NOW)
    (decision,) = plan.decisions
    assert decision.new_image == f"app:1.1.0@{new}"
    assert f"image: app:1.1.0@{new}  #" in apply_plan(files, plan).changed_files["a.yaml"]


def test_setter_markers_inside_a_locked_workload_do_not_change():
    locked = MARKED_DEPLOYMENT.replace(
        "  name: frontend\n", "  name: frontend\n  annotations:\n    conveyor.dev/locked: 'true'\n"
    )
    plan = plan_automation(
        {"d.yaml": locked},
        tags={PODINFO: candidates("6.5.0", "6.6.0")},
        setter_policies={"flux-system:podinfo": parse_policy("semver:^6")},
        now=NOW,
    )
    assert outcomes(plan)["default:deployment/frontend container frontend"] is Outcome.LOCKED
    assert plan.updates == ()


def test_setter_markers_naming_two_repositories_are_a_policy_error():
    files = {
        "a.yaml": 'image: ghcr.io/org/a:1.0 # {"$imagepolicy": "ns:app"}\n',
        "b.yaml": 'image: ghcr.io/org/b:1.0 # {"$imagepolicy": "ns:app"}\n',
    }
    plan = plan_automation(
        files, tags={}, setter_policies={"ns:app": parse_policy("semver:^1")}, now=NOW
    )
    assert [d.outcome for d in plan.decisions] == [Outcome.POLICY_ERROR] * 2
    assert "ghcr.io/org/a, ghcr.io/org/b" in plan.decisions[0].reason
