"""Properties of selection that hold for any candidate list, checked against independent oracles."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import nodesemver
from hypothesis import given
from hypothesis import strategies as st

from conveyor.core.policy import Reason, TagCandidate, parse_policy, select

NOW = datetime(2024, 6, 1, tzinfo=UTC)

_small = st.integers(0, 4)
_prerelease = st.one_of(
    st.just(""),
    st.builds(lambda n: f"-rc.{n}", st.integers(0, 3)),
    st.sampled_from(["-alpha", "-beta.2"]),
)
_version_tag = st.builds(
    lambda major, minor, patch, pre: f"{major}.{minor}.{patch}{pre}",
    _small,
    _small,
    _small,
    _prerelease,
)
_noise_tag = st.sampled_from(["latest", "main", "1.2", "v1.0.0", "stable-1"])
_tags = st.lists(st.one_of(_version_tag, _version_tag, _noise_tag), max_size=25)
_range = st.one_of(
    st.builds(lambda a, b: f"~{a}.{b}", _small, _small),
    st.builds(lambda a: f"^{a}", _small),
    st.builds(lambda a, b: f">={a}.0.0 <{a + b}.0.0", _small, st.integers(1, 3)),
    st.builds(lambda a: f"{a}.x", _small),
    st.builds(lambda a, b: f"^{a} || ~{b}.1", _small, _small),
    st.builds(lambda a: f">={a}.0.0-0", _small),
)


def _oracle_version(tag: str):
    """The oracle's reading of the tags generated here: full semver, a leading v, or `1.2`."""
    text = {"1.2": "1.2.0"}.get(tag, tag.removeprefix("v"))
    try:
        return nodesemver.make_semver(text, loose=False)
    except ValueError:
        return None


@given(_tags, _range)
def test_semver_picks_the_maximum_satisfying_version(tag_names, semver_range):
    policy = parse_policy(f"semver:{semver_range}")
    selection = select(policy, [TagCandidate(t) for t in tag_names], current_tag=None, now=NOW)
    compiled = nodesemver.make_range(semver_range, loose=False)
    names_prerelease = semver_range.endswith("-0")
    satisfying = [
        version
        for version in map(_oracle_version, tag_names)
        if version is not None and compiled.test(version, include_prerelease=names_prerelease)
    ]
    if not satisfying:
        assert selection.chosen is None
        return
    best = max(satisfying, key=nodesemver.cmp_to_key(lambda a, b: a.compare(b)))
    assert selection.chosen is not None
    assert _oracle_version(selection.chosen).compare(best) == 0
    if not names_prerelease:
        assert not _oracle_version(selection.chosen).prerelease


@given(
    st.lists(st.integers(-50, 10**15), min_size=1, max_size=30), st.sampled_from(["asc", "desc"])
)
def test_numerical_picks_the_extreme_number(numbers, order):
    candidates = [TagCandidate(str(n)) for n in numbers]
    selection = select(parse_policy(f"numerical:{order}"), candidates, current_tag=None, now=NOW)
    expected = max(numbers) if order == "asc" else min(numbers)
    assert selection.chosen is not None
    assert Decimal(selection.chosen) == expected


@st.composite
def _scenario(draw):
    names = draw(st.lists(st.one_of(_version_tag, _noise_tag), max_size=20, unique=True))
    created = [
        draw(st.none() | st.integers(-10, 3000).map(lambda m: NOW - timedelta(minutes=m)))
        for _ in names
    ]
    candidates = [TagCandidate(n, created=c) for n, c in zip(names, created, strict=True)]
    current = draw(st.none() | st.sampled_from([*names, "0.0.1"]) if names else st.none())
    policy = parse_policy(
        draw(
            st.sampled_from(
                ["semver:^1", "semver:>=0.0.0-0", "glob:*", "alphabetical:desc", "numerical:asc"]
            )
        ),
        min_age=draw(st.sampled_from([None, "30m"])),
        excludes=draw(st.sampled_from([[], ["*-rc.*"]])),
    )
    return policy, candidates, current


@given(_scenario(), st.randoms())
def test_selection_is_deterministic_and_explains_every_candidate(scenario, random):
    policy, candidates, current = scenario
    selection = select(policy, candidates, current_tag=current, now=NOW)
    shuffled = list(candidates)
    random.shuffle(shuffled)
    again = select(policy, shuffled, current_tag=current, now=NOW)
    assert again.chosen == selection.chosen
    assert sorted(v.message for v in again.verdicts) == sorted(
        v.message for v in selection.verdicts
    )

    unlisted = current is not None and current not in {c.tag for c in candidates}
    assert len(selection.verdicts) == len(candidates) + unlisted
    decisive = [v for v in selection.verdicts if v.reason in (Reason.CHOSEN, Reason.CURRENT)]
    assert len(decisive) == (selection.chosen is not None)
    for verdict in selection.verdicts:
        assert verdict.message.startswith(f"{verdict.tag}: ")
        assert verdict.is_current == (verdict.tag == current)
        # The current tag is never "chosen" over itself; CURRENT only ever marks the current tag.
        assert not (verdict.is_current and verdict.reason is Reason.CHOSEN)
        assert verdict.reason is not Reason.CURRENT or verdict.is_current
    if selection.chosen is not None:
        assert selection.verdicts[0].tag == selection.chosen
        assert selection.changed == (selection.chosen != current)
