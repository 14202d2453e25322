"""The plan with exclude and min-age annotations: what moves, what asks for build times, errors."""

from datetime import UTC, datetime, timedelta

from conveyor.core.plan import Outcome, plan_automation
from conveyor.core.plan_apply import apply_plan
from conveyor.core.plan_explain import explain_plan
from conveyor.core.policy import Reason, TagCandidate, parse_policy

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
APP = "docker.io/library/app"
SIDECAR = "docker.io/library/sidecar"
AUTOMATED = {"conveyor.dev/automated": "true"}
CREATED = {
    "1.0.0": NOW - timedelta(days=30),
    "1.0.1": NOW - timedelta(days=2),
    "1.0.2": NOW - timedelta(minutes=5),
    "1.0.3-rc1": NOW - timedelta(days=1),
    "1.0.4-debug": NOW - timedelta(days=1),
}


def workload(name: str, annotations: dict[str, str]) -> str:
    written = "".join(f"\n    {key}: {value!r}" for key, value in annotations.items())
    return (
        "apiVersion: apps/v1\n"
        "kind: Deployment\n"
        "metadata:\n"
        f"  name: {name}\n"
        "  namespace: shop\n"
        f"  annotations:{written}\n"
        "spec:\n"
        "  template:\n"
        "    spec:\n"
        "      containers:\n"
        "      - name: app\n"
        "        image: app:1.0.0\n"
        "      - name: sidecar\n"
        "        image: sidecar:1.0.0\n"
    )


def tags(*, with_times: bool = True) -> dict[str, list[TagCandidate]]:
    listed = [TagCandidate(t, created=c if with_times else None) for t, c in CREATED.items()]
    return {APP: listed, SIDECAR: listed}


def plan_of(files: dict[str, str], **options):
    options.setdefault("tags", tags())
    return plan_automation(files, setter_policies={}, now=NOW, **options)


def chosen(plan) -> dict[str, str | None]:
    return {d.subject: d.new_tag or d.current_tag for d in plan.decisions}


def test_exclude_and_min_age_keep_the_rc_and_the_young_build_out():
    files = {
        "web.yaml": workload(
            "web",
            {
                **AUTOMATED,
                "conveyor.dev/tag.app": "semver:~1.0",
                "conveyor.dev/tag.sidecar": "semver:~1.0",
                "conveyor.dev/exclude.app": "*-rc*",
                "conveyor.dev/min-age.app": "1h",
            },
        )
    }
    plan = plan_of(files)
    app, sidecar = plan.decisions
    assert (app.outcome, app.new_tag) == (Outcome.UPDATE, "1.0.1")
    assert app.selection is not None
    assert app.selection.verdict("1.0.2").reason is Reason.TOO_YOUNG
    assert app.selection.verdict("1.0.3-rc1").reason is Reason.EXCLUDED
    # The sidecar has no rules of its own and there is no workload-wide form: the newest patch.
    assert (sidecar.outcome, sidecar.new_tag) == (Outcome.UPDATE, "1.0.2")
    assert plan.repositories_needing_created_times == {APP}
    assert str(app.policy) == "semver:~1.0 (exclude *-rc*; min-age 1h)"


def test_the_explanation_says_why_the_newer_tags_were_not_chosen():
    files = {
        "web.yaml": workload(
            "web",
            {
                **AUTOMATED,
                "conveyor.dev/tag.app": "semver:~1.0",
                "conveyor.dev/exclude.app": "*-rc*",
                "conveyor.dev/min-age.app": "1h",
            },
        )
    }
    lines = explain_plan(plan_of(files))
    assert lines[:5] == [
        "shop:deployment/web container app (app:1.0.0): update to app:1.0.1 - 1.0.1 replaces "
        "1.0.0 under semver:~1.0 (exclude *-rc*; min-age 1h) (5 candidates)",
        "    1.0.1: chosen, the highest version in range ~1.0",
        "    1.0.0: current tag, older version than the chosen 1.0.1",
        "    1.0.2: too young (built 5m ago, minimum age 1h from conveyor.dev/min-age.app)",
        "    1.0.3-rc1: excluded by glob *-rc* (conveyor.dev/exclude.app)",
    ]


def test_the_workload_wide_form_applies_to_every_container_and_the_container_form_wins():
    files = {
        "web.yaml": workload(
            "web",
            {
                **AUTOMATED,
                "conveyor.dev/tag.app": "semver:>=1.0.0-0",
                "conveyor.dev/tag.sidecar": "semver:>=1.0.0-0",
                "conveyor.dev/exclude": "*-rc*, *-debug",
                "conveyor.dev/exclude.sidecar": "*-debug",
                "conveyor.dev/min-age": "7d",
                "conveyor.dev/min-age.app": "1h",
            },
        )
    }
    plan = plan_of(files)
    assert chosen(plan) == {
        # app: its own min-age (1h) lets 1.0.1 through; the workload's excludes keep out both tags
        "shop:deployment/web container app": "1.0.1",
        # sidecar: its own exclude lets the rc through, but the workload's 7d keeps all but 1.0.0
        "shop:deployment/web container sidecar": "1.0.0",
    }
    sidecar = plan.decisions[1].selection
    assert sidecar is not None
    assert sidecar.verdict("1.0.3-rc1").reason is Reason.TOO_YOUNG
    assert plan.repositories_needing_created_times == {APP, SIDECAR}


def test_the_default_policy_takes_the_annotated_rules_too():
    files = {"web.yaml": workload("web", {**AUTOMATED, "conveyor.dev/min-age": "1h"})}
    plan = plan_of(files, default_policy=parse_policy("semver:*"))
    assert chosen(plan) == {
        "shop:deployment/web container app": "1.0.1",
        "shop:deployment/web container sidecar": "1.0.1",
    }


def test_rules_alone_are_no_policy():
    files = {"web.yaml": workload("web", {**AUTOMATED, "conveyor.dev/exclude": "latest"})}
    assert {d.outcome for d in plan_of(files).decisions} == {Outcome.NO_POLICY}


def test_a_min_age_asks_for_build_times_before_any_tags_are_known():
    files = {
        "web.yaml": workload(
            "web",
            {**AUTOMATED, "conveyor.dev/tag.app": "semver:~1.0", "conveyor.dev/min-age": "1h"},
        )
    }
    first = plan_of(files, tags={})
    assert first.repositories == {APP}
    assert first.repositories_needing_created_times == {APP}
    # Without build times nothing can be shown to be old enough: the current tag stays.
    second = plan_of(files, tags=tags(with_times=False))
    decision = second.decisions[0]
    assert decision.outcome is Outcome.UP_TO_DATE
    assert decision.selection is not None
    assert decision.selection.verdict("1.0.1").reason is Reason.MISSING_CREATED_TIME


def test_a_bad_value_is_a_policy_error_for_that_workload_and_the_others_still_move():
    files = {
        "apps/bad-age.yaml": workload(
            "bad-age",
            {**AUTOMATED, "conveyor.dev/tag.app": "semver:~1.0", "conveyor.dev/min-age": "soon"},
        ),
        "apps/bad-exclude.yaml": workload(
            "bad-exclude",
            {
                **AUTOMATED,
                "conveyor.dev/tag.app": "semver:~1.0",
                "conveyor.dev/exclude.app": "*-rc*,",
            },
        ),
        "apps/good.yaml": workload("good", {**AUTOMATED, "conveyor.dev/tag.app": "semver:~1.0"}),
    }
    plan = plan_of(files)
    by_subject = {d.subject: d for d in plan.decisions}
    bad_age = by_subject["shop:deployment/bad-age container app"]
    assert bad_age.outcome is Outcome.POLICY_ERROR
    assert bad_age.reason == (
        "apps/bad-age.yaml: shop:deployment/bad-age: annotation conveyor.dev/min-age: "
        "duration 'soon' is not like 90s, 10m, 1h30m or 2d"
    )
    # The workload-wide form is bad for every container of the workload, policy or not.
    assert by_subject["shop:deployment/bad-age container sidecar"].outcome is Outcome.POLICY_ERROR
    bad_exclude = by_subject["shop:deployment/bad-exclude container app"]
    assert bad_exclude.outcome is Outcome.POLICY_ERROR
    assert bad_exclude.reason.startswith(
        "apps/bad-exclude.yaml: shop:deployment/bad-exclude: annotation conveyor.dev/exclude.app: "
    )
    assert "is empty (a stray comma?)" in bad_exclude.reason
    # Its sidecar has no bad annotation applying to it: it is just without a policy.
    assert by_subject["shop:deployment/bad-exclude container sidecar"].outcome is Outcome.NO_POLICY
    assert by_subject["shop:deployment/good container app"].new_tag == "1.0.2"
    assert set(apply_plan(files, plan).changed_files) == {"apps/good.yaml"}
    lines = explain_plan(plan)
    assert any(line.startswith("shop:deployment/bad-age container app") for line in lines)


def test_a_bad_tag_policy_names_its_file_too():
    files = {"apps/web.yaml": workload("web", {**AUTOMATED, "conveyor.dev/tag.app": "semver:~~1"})}
    decision = plan_of(files).decisions[0]
    assert decision.outcome is Outcome.POLICY_ERROR
    assert decision.reason.startswith("apps/web.yaml: shop:deployment/web: tag policy 'semver:~~1'")


def test_setter_marked_values_keep_the_policy_from_the_config():
    text = workload(
        "web", {**AUTOMATED, "conveyor.dev/exclude": "1.0.2", "conveyor.dev/min-age": "30d"}
    ).replace("image: app:1.0.0\n", 'image: app:1.0.0 # {"$imagepolicy": "flux-system:app"}\n', 1)
    plan = plan_automation(
        {"web.yaml": text},
        tags=tags(),
        setter_policies={"flux-system:app": parse_policy("semver:~1.0")},
        now=NOW,
    )
    app = plan.decisions[0]
    assert app.target.setter_policy == "flux-system:app"
    assert (app.outcome, app.new_tag) == (Outcome.UPDATE, "1.0.2")
