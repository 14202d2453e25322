"""Exclude and min-age annotations as read from a workload: raw values, which one applies."""

from conveyor.core.workload_settings import (
    CandidateRuleSetting,
    candidate_rule_annotation,
    read_automation_settings,
)
from conveyor.core.workloads import scan_manifest


def test_the_annotation_names_with_and_without_a_container():
    assert candidate_rule_annotation("exclude") == "conveyor.dev/exclude"
    assert candidate_rule_annotation("exclude", "web") == "conveyor.dev/exclude.web"
    assert candidate_rule_annotation("min-age", "web") == "conveyor.dev/min-age.web"


def test_the_per_container_form_wins_and_the_workload_wide_form_covers_the_rest():
    settings = read_automation_settings(
        {
            "conveyor.dev/exclude": "*-debug",
            "conveyor.dev/exclude.web": "*-rc*, latest",
            "conveyor.dev/min-age": "1h",
            "conveyor.dev/min-age.sidecar": "10m",
        }
    )
    web_exclude = settings.candidate_rule("exclude", "web")
    assert web_exclude == CandidateRuleSetting(
        "exclude", "web", "*-rc*, latest", "conveyor.dev/exclude.web"
    )
    sidecar_exclude = settings.candidate_rule("exclude", "sidecar")
    assert sidecar_exclude is not None
    assert (sidecar_exclude.value, sidecar_exclude.container) == ("*-debug", None)
    web_age = settings.candidate_rule("min-age", "web")
    sidecar_age = settings.candidate_rule("min-age", "sidecar")
    assert web_age is not None and sidecar_age is not None
    assert (web_age.value, web_age.annotation) == ("1h", "conveyor.dev/min-age")
    assert (sidecar_age.value, sidecar_age.annotation) == ("10m", "conveyor.dev/min-age.sidecar")


def test_no_rule_annotation_means_no_rule():
    settings = read_automation_settings(
        {"conveyor.dev/tag.web": "semver:~1", "conveyor.dev/excluded": "x", "exclude.web": "y"}
    )
    assert settings.candidate_rules == ()
    assert settings.candidate_rule("exclude", "web") is None
    assert settings.candidate_rule("min-age", "web") is None


def test_a_rule_for_another_container_does_not_apply():
    settings = read_automation_settings({"conveyor.dev/min-age.worker": "2h"})
    assert settings.candidate_rule("min-age", "web") is None
    assert settings.candidate_rule("min-age", "worker") is not None


def test_rules_are_listed_by_kind_then_workload_wide_first():
    settings = read_automation_settings(
        {
            "conveyor.dev/min-age.b": "1m",
            "conveyor.dev/exclude.a": "x",
            "conveyor.dev/min-age": "2m",
            "conveyor.dev/exclude": "y",
        }
    )
    assert [(r.kind, r.container) for r in settings.candidate_rules] == [
        ("exclude", None),
        ("exclude", "a"),
        ("min-age", None),
        ("min-age", "b"),
    ]


def test_values_are_kept_as_written_even_when_they_are_bad():
    # Parsing (and reporting a bad value) is the policy module's job, as for tag policies.
    settings = read_automation_settings({"conveyor.dev/min-age.web": "soon"})
    rule = settings.candidate_rule("min-age", "web")
    assert rule is not None and rule.value == "soon"


def test_a_scanned_workload_carries_its_rules():
    text = (
        "apiVersion: apps/v1\n"
        "kind: Deployment\n"
        "metadata:\n"
        "  name: web\n"
        "  annotations:\n"
        "    conveyor.dev/automated: 'true'\n"
        "    conveyor.dev/exclude.app: '*-rc*'\n"
        "    conveyor.dev/min-age: 1d\n"
        "spec: {template: {spec: {containers: [{name: app, image: app:1.0.0}]}}}\n"
    )
    (workload,) = scan_manifest(text).workloads
    exclude = workload.automation.candidate_rule("exclude", "app")
    min_age = workload.automation.candidate_rule("min-age", "app")
    assert exclude is not None and exclude.value == "*-rc*"
    assert min_age is not None and min_age.value == "1d"
