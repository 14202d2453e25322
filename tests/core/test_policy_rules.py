"""Exclude and min-age annotation values: parsing, errors, and what they add to a policy."""

from datetime import UTC, datetime, timedelta

import pytest

from conveyor.core.policy import (
    AnnotationValueError,
    CandidateRules,
    PolicyError,
    Reason,
    TagCandidate,
    parse_exclude_patterns,
    parse_min_age,
    parse_policy,
    rules_for_container,
    select,
)
from conveyor.core.workload_settings import read_automation_settings

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
EXCLUDE = "conveyor.dev/exclude.app"
MIN_AGE = "conveyor.dev/min-age.app"


@pytest.mark.parametrize(
    ("value", "texts"),
    [
        ("*-rc*", ["*-rc*"]),
        ("*-rc*, latest", ["*-rc*", "latest"]),
        ("  *-rc*,latest ,  main-?  ", ["*-rc*", "latest", "main-?"]),
        ("1.[0-4].*", ["1.[0-4].*"]),
    ],
)
def test_exclude_values_are_comma_separated_globs(value, texts):
    patterns = parse_exclude_patterns(value, annotation=EXCLUDE)
    assert [p.text for p in patterns] == texts
    assert {p.origin for p in patterns} == {EXCLUDE}


def test_an_exclude_glob_matches_the_whole_tag():
    (pattern,) = parse_exclude_patterns("*-rc*", annotation=EXCLUDE)
    assert pattern.match("1.0.3-rc1")
    assert not pattern.match("1.0.3")
    (latest,) = parse_exclude_patterns("latest", annotation=EXCLUDE)
    assert latest.match("latest") and not latest.match("latest-1") and not latest.match("a-latest")


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("", "lists no pattern"),
        (" , ", "lists no pattern"),
        ("*-rc*,", "pattern 2 of '*-rc*,' is empty"),
        ("a,,b", "pattern 2 of 'a,,b' is empty"),
        ("*-rc* latest", "holds whitespace"),
    ],
)
def test_bad_exclude_values_name_the_annotation_and_the_problem(value, problem):
    with pytest.raises(AnnotationValueError) as raised:
        parse_exclude_patterns(value, annotation=EXCLUDE)
    assert str(raised.value).startswith(f"annotation {EXCLUDE}: ")
    assert problem in str(raised.value)
    assert isinstance(raised.value, PolicyError)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        ("2h", timedelta(hours=2)),
        ("1d", timedelta(days=1)),
        (" 1h30m ", timedelta(hours=1, minutes=30)),
        ("1w", timedelta(weeks=1)),
        ("0s", timedelta(0)),
    ],
)
def test_min_age_values_are_durations(value, expected):
    assert parse_min_age(value, annotation=MIN_AGE) == expected


@pytest.mark.parametrize("value", ["", "30", "soon", "1 hour", "-1h", "1y", "h1"])
def test_bad_min_age_values_name_the_annotation_and_the_value(value):
    with pytest.raises(AnnotationValueError) as raised:
        parse_min_age(value, annotation=MIN_AGE)
    assert str(raised.value) == (
        f"annotation {MIN_AGE}: duration {value!r} is not like 90s, 10m, 1h30m or 2d"
    )


def test_a_duration_too_long_to_hold_is_an_error_not_a_crash():
    with pytest.raises(AnnotationValueError, match="is too long"):
        parse_min_age("99999999999999999999d", annotation=MIN_AGE)


def test_rules_for_a_container_come_from_its_own_annotation_first():
    settings = read_automation_settings(
        {"conveyor.dev/min-age": "2h", MIN_AGE: "30m", "conveyor.dev/exclude": "latest"}
    )
    rules = rules_for_container(settings, "app")
    assert rules.min_age == timedelta(minutes=30)
    assert (rules.min_age_origin, rules.min_age_text) == (MIN_AGE, "30m")
    assert [p.text for p in rules.excludes] == ["latest"]
    assert [p.origin for p in rules.excludes] == ["conveyor.dev/exclude"]
    other = rules_for_container(settings, "sidecar")
    assert other.min_age == timedelta(hours=2)
    assert rules_for_container(None, "app").empty


def test_empty_rules_leave_the_policy_untouched():
    policy = parse_policy("semver:~1.0")
    assert CandidateRules().apply(policy) is policy


def test_applied_rules_add_excludes_replace_the_minimum_age_and_show_in_the_text():
    base = parse_policy("semver:~1.0", excludes=["*.sig"], min_age="5m")
    rules = CandidateRules(
        excludes=parse_exclude_patterns("*-rc*, latest", annotation=EXCLUDE),
        min_age=timedelta(hours=1),
        min_age_origin=MIN_AGE,
        min_age_text="1h",
    )
    policy = rules.apply(base)
    assert [p.text for p in policy.excludes] == ["*.sig", "*-rc*", "latest"]
    assert policy.min_age == timedelta(hours=1)
    assert policy.needs_created_time
    assert str(policy) == "semver:~1.0 (exclude *-rc*, latest; min-age 1h)"
    # A rule that sets no minimum age keeps the policy's own.
    only_excludes = CandidateRules(excludes=rules.excludes).apply(base)
    assert only_excludes.min_age == timedelta(minutes=5)
    assert str(only_excludes) == "semver:~1.0 (exclude *-rc*, latest)"


def test_verdicts_name_the_annotation_that_kept_a_tag_out():
    settings = read_automation_settings({EXCLUDE: "*-rc*", MIN_AGE: "1h"})
    policy = rules_for_container(settings, "app").apply(parse_policy("semver:~1.0"))
    created = {
        "1.0.1": NOW - timedelta(days=3),
        "1.0.2": NOW - timedelta(minutes=5),
        "1.0.3-rc1": NOW - timedelta(days=1),
    }
    candidates = [TagCandidate(tag, created=when) for tag, when in created.items()]
    candidates.append(TagCandidate("1.0.4"))  # no build time known
    selection = select(policy, candidates, current_tag="1.0.0", now=NOW)
    assert selection.chosen == "1.0.1"
    messages = {v.tag: (v.reason, v.message) for v in selection.verdicts}
    assert messages["1.0.2"] == (
        Reason.TOO_YOUNG,
        f"1.0.2: too young (built 5m ago, minimum age 1h from {MIN_AGE})",
    )
    assert messages["1.0.3-rc1"] == (
        Reason.EXCLUDED,
        f"1.0.3-rc1: excluded by glob *-rc* ({EXCLUDE})",
    )
    assert messages["1.0.4"] == (
        Reason.MISSING_CREATED_TIME,
        f"1.0.4: build time unknown, needed for minimum age 1h ({MIN_AGE})",
    )
    assert selection.summary == (
        "1.0.1 replaces 1.0.0 under semver:~1.0 (exclude *-rc*; min-age 1h) (4 candidates)"
    )
