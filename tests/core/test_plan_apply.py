"""Carrying out a plan: exactly the decided values change, anything else is a reported problem."""

from datetime import UTC, datetime

from conveyor.core.commit_message import ReleasedChange
from conveyor.core.plan import Outcome, plan_automation
from conveyor.core.plan_apply import apply_plan, released_changes
from conveyor.core.policy import TagCandidate, parse_policy

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
TAGS = {"docker.io/library/app": [TagCandidate(t) for t in ("1.2.3", "1.2.4", "1.3.0", "1.3.1")]}

TWO_CONTAINERS = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  annotations:
    conveyor.dev/automated: "true"
    conveyor.dev/tag.app: semver:~1.2
    conveyor.dev/tag.migrate: semver:~1.3
spec:
  template:
    spec:
      initContainers:
      - name: migrate
        image: app:1.2.3
      containers:
      - name: app
        image: app:1.2.3
"""


def web(namespace_annotations: str) -> str:
    return f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  annotations:
    conveyor.dev/automated: "true"
    conveyor.dev/tag.app: semver:~1.2
{namespace_annotations}spec:
  template:
    spec:
      containers:
      - name: app
        image: app:1.2.3
"""


def test_the_same_workload_in_two_environments_changes_only_where_it_is_not_locked():
    files = {
        "staging/web.yaml": web(""),
        "production/web.yaml": web("    conveyor.dev/locked: 'true'\n"),
    }
    plan = plan_automation(files, tags=TAGS, setter_policies={}, now=NOW)
    assert [d.outcome for d in plan.decisions] == [Outcome.LOCKED, Outcome.UPDATE]
    result = apply_plan(files, plan)
    assert result.problems == ()
    assert set(result.changed_files) == {"staging/web.yaml"}
    assert [(c.path, c.new_value) for c in result.changes] == [("staging/web.yaml", "app:1.2.4")]


def test_two_containers_on_one_repository_with_different_outcomes_are_not_half_edited():
    files = {"web.yaml": TWO_CONTAINERS, "other.yaml": web("")}
    plan = plan_automation(files, tags=TAGS, setter_policies={}, now=NOW)
    by_container = {d.target.container: d for d in plan.decisions if d.target.path == "web.yaml"}
    assert by_container["app"].new_tag == "1.2.4"
    assert by_container["migrate"].new_tag == "1.3.1"

    result = apply_plan(files, plan)

    # Editing one container of the workload would also change the other: the file is left
    # alone and the problem says why; other files still change.
    assert set(result.changed_files) == {"other.yaml"}
    assert {p.path for p in result.problems} == {"web.yaml"}
    assert all("which the plan leaves alone" in p.message for p in result.problems)


def test_a_file_that_changed_since_planning_is_not_edited():
    files = {"web.yaml": web("")}
    plan = plan_automation(files, tags=TAGS, setter_policies={}, now=NOW)
    moved = {"web.yaml": files["web.yaml"].replace("app:1.2.3", "app:1.2.2")}
    result = apply_plan(moved, plan)
    assert dict(result.changed_files) == {}
    (problem,) = result.problems
    assert "no longer reads 'app:1.2.3'" in problem.message


def test_a_setter_value_next_to_an_unautomated_container_of_the_same_image_is_reported():
    text = (
        'image: app:1.2.3 # {"$imagepolicy": "ns:app"}\n'
        "---\n"
        "apiVersion: v1\n"
        "kind: Pod\n"
        "metadata: {name: manual}\n"
        "spec:\n"
        "  containers:\n"
        "  - {name: app, image: app:1.2.3}\n"
    )
    plan = plan_automation(
        {"mixed.yaml": text},
        tags=TAGS,
        setter_policies={"ns:app": parse_policy("semver:~1.2")},
        now=NOW,
    )
    assert sorted(d.outcome for d in plan.decisions) == [Outcome.NOT_AUTOMATED, Outcome.UPDATE]
    result = apply_plan({"mixed.yaml": text}, plan)
    assert dict(result.changed_files) == {}
    assert "default:pod/manual" in result.problems[0].message


def test_released_changes_list_what_the_result_made():
    files = {
        "staging/web.yaml": web(""),
        "values.yaml": 'tag: 1.2.3 # {"$imagepolicy": "ns:app:tag"}\n',
    }
    plan = plan_automation(
        files,
        tags=TAGS,
        setter_policies={"ns:app": parse_policy("semver:~1.2")},
        setter_repositories={"ns:app": "app"},
        now=NOW,
    )
    result = apply_plan(files, plan)
    assert released_changes(plan, result) == (
        ReleasedChange(
            workload_id="shop:deployment/web",
            container="app",
            setter_policy=None,
            path=None,
            old_image="app:1.2.3",
            new_image="app:1.2.4",
        ),
        ReleasedChange(
            workload_id=None,
            container=None,
            setter_policy="ns:app",
            path="values.yaml",
            old_image="app:1.2.3",
            new_image="app:1.2.4",
        ),
    )
    assert result.changed_files["values.yaml"] == 'tag: 1.2.4 # {"$imagepolicy": "ns:app:tag"}\n'
    # A change that did not land is not listed.
    failed = apply_plan({"staging/web.yaml": files["staging/web.yaml"]}, plan)
    assert [c.path for c in released_changes(plan, failed)] == [None]
