"""The plan explained as text: one line per decision, the candidates that matter under it."""

from datetime import UTC, datetime, timedelta

import pytest

from conveyor.core.plan import plan_automation
from conveyor.core.plan_explain import INDENT, explain_plan, looks_newer
from conveyor.core.policy import TagCandidate

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)

FILES = {
    "web.yaml": """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations: {conveyor.dev/automated: "true", conveyor.dev/tag.app: "semver:~1.2"}
spec:
  template:
    spec:
      containers:
      - {name: app, image: app:1.2.3}
      - {name: sidecar, image: envoy:1.0}
""",
    "manual.yaml": """apiVersion: v1
kind: Pod
metadata: {name: manual}
spec:
  containers:
  - {name: app, image: app:1.0.0}
""",
    "broken.yaml": "image: [\n",
}
TAGS = {
    "docker.io/library/app": [
        TagCandidate(t) for t in ("1.1.0", "1.2.0", "1.2.3", "1.2.4", "1.2.5-rc.1", "1.3.0")
    ]
}


def plan():
    return plan_automation(FILES, tags=TAGS, setter_policies={}, now=NOW)


def test_by_default_only_the_candidates_newer_than_the_current_tag_are_listed():
    lines = explain_plan(plan())
    assert lines == [
        "default:deployment/web container app (app:1.2.3): update to app:1.2.4 - "
        "1.2.4 replaces 1.2.3 under semver:~1.2 (6 candidates)",
        f"{INDENT}1.2.4: chosen, the highest version in range ~1.2",
        f"{INDENT}1.2.3: current tag, older version than the chosen 1.2.4",
        f"{INDENT}1.2.5-rc.1: a prerelease, and range ~1.2 names none",
        f"{INDENT}1.3.0: outside range ~1.2",
        f"{INDENT}(+2 other candidates not newer than the current tag)",
        "default:deployment/web container sidecar (envoy:1.0): no tag policy - automated, but "
        "container 'sidecar' has no tag policy: annotate the workload with "
        "conveyor.dev/tag.sidecar (e.g. semver:~1.2)",
        lines[-1],
    ]
    assert lines[-1].startswith("broken.yaml: not read: ")


def test_every_candidate_and_unautomated_workloads_on_request():
    lines = explain_plan(plan(), include_not_automated=True, all_candidates=True)
    assert f"{INDENT}1.1.0: outside range ~1.2" in lines
    assert f"{INDENT}1.2.0: older version than the chosen 1.2.4" in lines
    assert not any(line.startswith(f"{INDENT}(+") for line in lines)
    assert any(
        line.startswith("default:pod/manual container app (app:1.0.0): not automated: no ")
        for line in lines
    )


EARLY = NOW - timedelta(days=2)


@pytest.mark.parametrize(
    ("tag", "than", "created", "than_created", "newer"),
    [
        ("1.10.0", "1.9.0", None, None, True),
        ("v1.2", "1.2.1", None, None, False),
        ("1.2.3-rc.1", "1.2.3", None, None, False),
        ("20240601", "20240531", None, None, True),
        ("main-abc", "main-def", NOW, EARLY, True),
        ("main-abc", "main-def", EARLY, NOW, False),
        ("main-abc", "main-def", None, NOW, True),  # cannot tell: shown
        ("anything", None, None, None, True),
    ],
)
def test_looks_newer(tag, than, created, than_created, newer):
    assert looks_newer(tag, than=than, created=created, than_created=than_created) is newer
