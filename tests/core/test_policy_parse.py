from datetime import timedelta

import pytest

from conveyor.core.policy import (
    PatternKind,
    PolicyDialect,
    PolicyError,
    SortKind,
    SortOrder,
    TagPattern,
    TagPolicy,
    parse_duration,
    parse_policy,
    policies_from_annotations,
    policy_from_annotation,
    policy_from_config,
)


@pytest.mark.parametrize(
    ("text", "normalized"),
    [
        ("semver:~1.2", ">=1.2.0 <1.3.0"),
        ("semver:^1", ">=1.0.0 <2.0.0"),
        ("semver:>=1.0 <2.0", ">=1.0.0 <2.0.0"),
        ("semver:>=1.0, <2.0", ">=1.0.0 <2.0.0"),  # Masterminds commas
        ("semver:1.x", ">=1.0.0 <2.0.0"),
        ("semver:1.2 - 1.4", ">=1.2.0 <1.5.0"),
        ("semver:^1 || ^3", ">=1.0.0 <2.0.0||>=3.0.0 <4.0.0"),
        ("semver:~v1.2", ">=1.2.0 <1.3.0"),
        ("semver:*", "*"),
        ("  semver:~1.2  ", ">=1.2.0 <1.3.0"),
    ],
)
def test_semver_forms(text, normalized):
    policy = parse_policy(text)
    assert policy.sort is SortKind.SEMVER
    assert policy.semver_range is not None
    assert policy.semver_range.normalized == normalized
    assert policy.pattern is None
    assert str(policy) == text.strip()


@pytest.mark.parametrize(
    ("text", "names_prerelease"),
    [("semver:~1.2", False), ("semver:>=1.0.0-0", True), ("semver:^1 || >=2.0.0-rc.1", True)],
)
def test_semver_range_knows_when_it_names_a_prerelease(text, names_prerelease):
    policy = parse_policy(text)
    assert policy.semver_range is not None
    assert policy.semver_range.names_prerelease is names_prerelease


@pytest.mark.parametrize(
    ("text", "sort", "order", "pattern", "extract"),
    [
        ("glob:1.2.*", SortKind.NEWEST, SortOrder.ASC, (PatternKind.GLOB, "1.2.*"), None),
        ("glob:*", SortKind.NEWEST, SortOrder.ASC, (PatternKind.GLOB, "*"), None),
        (
            "regex:^main-[0-9a-f]+$",
            SortKind.NEWEST,
            SortOrder.ASC,
            (PatternKind.REGEX, "^main-[0-9a-f]+$"),
            None,
        ),
        (
            r"regex:^main-(?P<ts>\d+)-[0-9a-f]+$",
            SortKind.NUMERICAL,
            SortOrder.ASC,
            (PatternKind.REGEX, r"^main-(?P<ts>\d+)-[0-9a-f]+$"),
            "ts",
        ),
        (
            r"regex:^main-(?P<ts>\d+)$ alphabetical:desc",
            SortKind.ALPHABETICAL,
            SortOrder.DESC,
            (PatternKind.REGEX, r"^main-(?P<ts>\d+)$"),
            "ts",
        ),
        (
            r"regex:^main-(?P<ts>\d+)$ newest",
            SortKind.NEWEST,
            SortOrder.ASC,
            (PatternKind.REGEX, r"^main-(?P<ts>\d+)$"),
            None,
        ),
        (
            "glob:RELEASE.* alphabetical:asc",
            SortKind.ALPHABETICAL,
            SortOrder.ASC,
            (PatternKind.GLOB, "RELEASE.*"),
            None,
        ),
        ("regexp:^v", SortKind.NEWEST, SortOrder.ASC, (PatternKind.REGEX, "^v"), None),
        ("numerical:asc", SortKind.NUMERICAL, SortOrder.ASC, None, None),
        ("numerical:desc", SortKind.NUMERICAL, SortOrder.DESC, None, None),
        ("numerical", SortKind.NUMERICAL, SortOrder.ASC, None, None),
        ("alphabetical:desc", SortKind.ALPHABETICAL, SortOrder.DESC, None, None),
        ("newest", SortKind.NEWEST, SortOrder.ASC, None, None),
    ],
)
def test_conveyor_forms(text, sort, order, pattern, extract):
    policy = parse_policy(text)
    assert (policy.sort, policy.order, policy.extract) == (sort, order, extract)
    written = (policy.pattern.kind, policy.pattern.text) if policy.pattern else None
    assert written == pattern
    assert policy.semver_range is None


def test_go_style_named_groups_are_understood():
    policy = parse_policy(r"regex:^b-(?<n>\d+)$")
    assert policy.extract == "n"
    assert policy.pattern is not None
    assert policy.pattern.text == r"^b-(?<n>\d+)$"


@pytest.mark.parametrize(
    ("text", "sort", "pattern"),
    [
        ("semver:~1.2", SortKind.SEMVER, None),
        ("glob:master-*", SortKind.NEWEST, (PatternKind.GLOB, "master-*")),
        ("master-*", SortKind.NEWEST, (PatternKind.GLOB, "master-*")),
        ("regex:^v(?P<n>\\d+)$", SortKind.NEWEST, (PatternKind.REGEX, "^v(?P<n>\\d+)$")),
        ("regexp:^v", SortKind.NEWEST, (PatternKind.REGEX, "^v")),
        # conveyor-only words mean nothing special to Flux v1: a bare glob.
        ("numerical:asc", SortKind.NEWEST, (PatternKind.GLOB, "numerical:asc")),
    ],
)
def test_flux_v1_forms_keep_flux_v1_meaning(text, sort, pattern):
    policy = parse_policy(text, dialect=PolicyDialect.FLUX_V1)
    assert policy.sort is sort
    assert policy.extract is None
    assert ((policy.pattern.kind, policy.pattern.text) if policy.pattern else None) == pattern


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "it is empty"),
        ("semver:", "the semver range is empty"),
        ("semver:~1.2 foo", "invalid semver range '~1.2 foo'"),
        ("semver:^1 ||", "empty '||' alternative"),
        ("semver:>=abc", "invalid semver range"),
        ("semver:~1.2 numerical:asc", "semver ranks by version; drop 'numerical:asc'"),
        ("regex:^(unclosed", "invalid regex '^(unclosed'"),
        ("regex:(?P<a>x)(?P<b>y)", "several named groups (a, b)"),
        ("semvr:~1.2", "unknown policy"),
        ("1.2.*", "unknown policy"),
        ("numerical:sideways", "unknown policy"),
    ],
)
def test_bad_policies_name_the_text_and_the_problem(text, problem):
    with pytest.raises(PolicyError) as raised:
        parse_policy(text)
    message = str(raised.value)
    assert problem in message
    assert message.startswith(f"tag policy {text.strip()!r}") or not text.strip()


def test_excludes_and_min_age_join_a_string_policy():
    policy = parse_policy("semver:^1", excludes=["1.2.*", "regex:-debug$"], min_age="10m")
    assert policy.excludes == (TagPattern.glob("1.2.*"), TagPattern.regex("-debug$"))
    assert policy.min_age == timedelta(minutes=10)
    assert policy.needs_created_time
    assert not parse_policy("semver:^1").needs_created_time
    assert parse_policy("newest").needs_created_time


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("conveyor.dev/tag.app", "numerical:desc", ("app", SortKind.NUMERICAL)),
        ("fluxcd.io/tag.app", "semver:~1.2", ("app", SortKind.SEMVER)),
        ("filter.fluxcd.io/side-car", "glob:*", ("side-car", SortKind.NEWEST)),
        ("flux.weave.works/tag.web", "glob:v*", ("web", SortKind.NEWEST)),
        ("fluxcd.io/automated", "true", None),
        ("conveyor.dev/locked", "true", None),
    ],
)
def test_policy_from_annotation(key, value, expected):
    parsed = policy_from_annotation(key, value)
    assert (None if parsed is None else (parsed[0], parsed[1].sort)) == expected


def test_policy_from_annotation_names_the_annotation_when_bad():
    with pytest.raises(
        PolicyError, match=r"tag policy 'semver:~1 foo'.*annotation fluxcd.io/tag.app"
    ):
        policy_from_annotation("fluxcd.io/tag.app", "semver:~1 foo")
    with pytest.raises(PolicyError, match="names no container"):
        policy_from_annotation("conveyor.dev/tag.", "newest")


def test_policies_from_annotations_prefers_conveyor_then_flux_v1_and_reports_bad_ones():
    policies, errors = policies_from_annotations(
        {
            "fluxcd.io/automated": "true",
            "fluxcd.io/tag.app": "semver:~1.2",
            "conveyor.dev/tag.app": "semver:~1.3",
            "filter.fluxcd.io/app": "glob:*",
            "filter.fluxcd.io/sidecar": "glob:v*",
            "fluxcd.io/tag.sidecar": "regex:^v",
            "conveyor.dev/tag.broken": "regex:(",
            "fluxcd.io/tag.broken": "glob:*",
        }
    )
    assert set(policies) == {"app", "sidecar"}
    assert policies["app"].semver_range is not None
    assert policies["app"].semver_range.text == "~1.3"
    assert policies["sidecar"].pattern == TagPattern.regex("^v")
    assert set(errors) == {"broken"}
    assert "invalid regex" in str(errors["broken"])


@pytest.mark.parametrize(
    ("kwargs", "sort", "order", "extract"),
    [
        ({"kind": "semver", "semver_range": ">=1.0.0"}, SortKind.SEMVER, SortOrder.ASC, None),
        (
            {"kind": "numerical", "pattern": r"^main-[a-f0-9]+-(?P<ts>\d+)", "extract": "$ts"},
            SortKind.NUMERICAL,
            SortOrder.ASC,
            "ts",
        ),
        (
            {"kind": "alphabetical", "order": "desc", "pattern": r"^(\w+)-x$", "extract": "${1}"},
            SortKind.ALPHABETICAL,
            SortOrder.DESC,
            "1",
        ),
        (
            {
                "kind": "semver",
                "semver_range": "^2",
                "pattern": r"^v(?P<v>.*)-alpine$",
                "extract": "v",
            },
            SortKind.SEMVER,
            SortOrder.ASC,
            "v",
        ),
        ({"kind": "newest", "pattern": "glob:main-*"}, SortKind.NEWEST, SortOrder.ASC, None),
        ({"kind": "glob", "pattern": "main-*"}, SortKind.NEWEST, SortOrder.ASC, None),
        ({"kind": "regex", "pattern": r"^b-(?P<n>\d+)$"}, SortKind.NUMERICAL, SortOrder.ASC, "n"),
    ],
)
def test_policy_from_config(kwargs, sort, order, extract):
    policy = policy_from_config(**kwargs, excludes=["*-debug"], min_age="1h30m")
    assert (policy.sort, policy.order, policy.extract) == (sort, order, extract)
    assert policy.excludes == (TagPattern.glob("*-debug"),)
    assert policy.min_age == timedelta(hours=1, minutes=30)
    # Config has no written text: messages quote a canonical rendering instead.
    assert str(policy) == policy.describe()


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"kind": "semver"}, "needs a range"),
        ({"kind": "fastest"}, "'fastest' is not a valid SortKind"),
        ({"kind": "numerical", "order": "up"}, "'up' is not a valid SortOrder"),
        ({"kind": "semver", "semver_range": "^1", "order": "desc"}, "has no 'desc' order"),
        ({"kind": "newest", "order": "desc"}, "has no 'desc' order"),
        ({"kind": "numerical", "semver_range": "^1"}, "only with, semver ranking"),
        ({"kind": "numerical", "extract": "$ts"}, "needs a regex pattern"),
        ({"kind": "numerical", "pattern": "glob:a*", "extract": "$ts"}, "needs a regex pattern"),
        ({"kind": "numerical", "pattern": "^a(?P<n>.)", "extract": "$ts"}, "has no group 'ts'"),
        ({"kind": "numerical", "pattern": "^a(.)", "extract": "$2"}, "has no group '2'"),
        ({"kind": "numerical", "pattern": "^a(.)", "extract": "$1-$2"}, "not one group reference"),
        ({"kind": "newest", "pattern": "^a(?P<n>.)", "extract": "n"}, "not used when ranking"),
        ({"kind": "glob"}, "needs a pattern"),
        ({"kind": "numerical", "min_age": "soon"}, "duration 'soon'"),
    ],
)
def test_bad_config_raises_policy_error(kwargs, problem):
    with pytest.raises(PolicyError) as raised:
        policy_from_config(**kwargs)
    assert problem in str(raised.value)


def test_negative_min_age_is_refused():
    with pytest.raises(PolicyError, match="negative"):
        TagPolicy(sort=SortKind.NEWEST, min_age=timedelta(seconds=-1))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("10m", timedelta(minutes=10)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("2d", timedelta(days=2)),
        ("1w", timedelta(weeks=1)),
        ("1.5h", timedelta(minutes=90)),
        ("500ms", timedelta(milliseconds=500)),
        ("0s", timedelta(0)),
        (" 1h 5m ", timedelta(hours=1, minutes=5)),
    ],
)
def test_parse_duration(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "10", "m", "10 minutes", "1h-5m", "-1h", "1y"])
def test_parse_duration_rejects(text):
    with pytest.raises(PolicyError, match="is not like"):
        parse_duration(text)


def test_describe_round_trips_through_parse_for_string_forms():
    for text in [
        "semver:~1.2",
        "glob:1.* alphabetical:asc",
        r"regex:^b-(?P<n>\d+)$ numerical:desc",
    ]:
        policy = parse_policy(text)
        assert parse_policy(policy.describe()) == policy
