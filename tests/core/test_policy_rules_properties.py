"""Properties of exclude and min-age annotations for any values and candidate lists."""

import fnmatch
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from conveyor.core.policy import (
    AnnotationValueError,
    CandidateRules,
    TagCandidate,
    parse_exclude_patterns,
    parse_min_age,
    parse_policy,
    select,
)

NOW = datetime(2024, 6, 1, tzinfo=UTC)
EXCLUDE = "conveyor.dev/exclude"
MIN_AGE = "conveyor.dev/min-age"

_tag = st.one_of(
    st.builds(
        lambda a, b, pre: f"1.{a}.{b}{pre}",
        st.integers(0, 3),
        st.integers(0, 3),
        st.sampled_from(["", "", "-rc1", "-rc.2", "-debug"]),
    ),
    st.sampled_from(["latest", "main", "1.2"]),
)
_glob = st.sampled_from(["*-rc*", "latest", "1.1.*", "*-debug", "1.?.0", "1.[02].*", "nothing"])
_policy = st.sampled_from(["semver:~1.1", "semver:^1", "semver:>=1.0.0-0", "alphabetical:asc"])
_age = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3))
_candidates = st.lists(st.tuples(_tag, _age), max_size=15, unique_by=lambda pair: pair[0])


@given(
    st.integers(0, 400),
    st.integers(0, 23),
    st.integers(0, 59),
    st.integers(0, 59),
)
def test_a_written_duration_reads_back_as_its_parts(days, hours, minutes, seconds):
    written = f"{days}d{hours}h{minutes}m{seconds}s"
    expected = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    assert parse_min_age(written, annotation=MIN_AGE) == expected


@given(st.text(max_size=12))
def test_any_min_age_value_parses_or_names_the_annotation(value):
    try:
        age = parse_min_age(value, annotation=MIN_AGE)
    except AnnotationValueError as e:
        assert str(e).startswith(f"annotation {MIN_AGE}: ")
    else:
        assert age >= timedelta(0)


@given(st.lists(_glob, min_size=1, max_size=4), st.sampled_from([",", ", ", " ,", " , "]))
def test_exclude_lists_read_back_pattern_by_pattern(globs, separator):
    patterns = parse_exclude_patterns(separator.join(globs), annotation=EXCLUDE)
    assert [p.text for p in patterns] == globs


@given(_policy, _candidates, st.lists(_glob, min_size=1, max_size=3))
def test_excludes_never_chosen_and_otherwise_the_choice_is_unchanged(text, tagged, globs):
    candidates = [TagCandidate(tag) for tag, _ in tagged]
    policy = parse_policy(text)
    rules = CandidateRules(excludes=parse_exclude_patterns(",".join(globs), annotation=EXCLUDE))
    without = select(policy, candidates, current_tag=None, now=NOW).chosen
    chosen = select(rules.apply(policy), candidates, current_tag=None, now=NOW).chosen

    def excluded(tag: str) -> bool:
        return any(fnmatch.fnmatchcase(tag, glob) for glob in globs)

    assert chosen is None or not excluded(chosen)
    if without is not None and not excluded(without):
        assert chosen == without  # excludes only take candidates away


@given(_policy, _candidates, _age)
def test_min_age_chooses_as_if_only_old_enough_tags_were_listed(text, tagged, min_age):
    candidates = [TagCandidate(tag, created=NOW - age) for tag, age in tagged]
    policy = parse_policy(text)
    aged = CandidateRules(min_age=min_age, min_age_origin=MIN_AGE).apply(policy)
    chosen = select(aged, candidates, current_tag=None, now=NOW)
    old_enough = [c for c in candidates if c.created is not None and NOW - c.created >= min_age]
    oracle = select(policy, old_enough, current_tag=None, now=NOW)
    assert chosen.chosen == oracle.chosen
    young = {c.tag for c in candidates} - {c.tag for c in old_enough}
    assert {v.tag for v in chosen.verdicts if v.reason == "too_young"} <= young
