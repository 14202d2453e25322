from datetime import UTC, datetime, timedelta

import pytest

from conveyor.core.policy import (
    Reason,
    TagCandidate,
    parse_policy,
    policy_from_config,
    select,
)

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def built(minutes_ago: float) -> datetime:
    return NOW - timedelta(minutes=minutes_ago)


def tags(*names: str) -> list[TagCandidate]:
    return [TagCandidate(name) for name in names]


def reasons(selection) -> dict[str, Reason]:
    return {verdict.tag: verdict.reason for verdict in selection.verdicts}


def messages(selection) -> dict[str, str]:
    return {verdict.tag: verdict.message for verdict in selection.verdicts}


@pytest.mark.parametrize(
    ("policy", "candidates", "current", "chosen", "expected"),
    [
        pytest.param(
            "semver:~1.2",
            tags("1.2.3", "1.2.4", "1.3.0", "latest", "1.2.5-rc.1", "1.1.9"),
            "1.2.3",
            "1.2.4",
            {
                "1.2.4": Reason.CHOSEN,
                "1.2.3": Reason.OLDER_THAN_CHOSEN,
                "1.3.0": Reason.FILTERED_OUT,
                "latest": Reason.UNREADABLE,
                "1.2.5-rc.1": Reason.PRERELEASE,
                "1.1.9": Reason.FILTERED_OUT,
            },
            id="semver-tilde",
        ),
        pytest.param(
            "semver:>=1.0, <2.0",
            tags("v1.9.0", "1.10", "2.0.0", "0.9.9"),
            None,
            "1.10",
            {
                "1.10": Reason.CHOSEN,
                "v1.9.0": Reason.OLDER_THAN_CHOSEN,
                "2.0.0": Reason.FILTERED_OUT,
                "0.9.9": Reason.FILTERED_OUT,
            },
            id="semver-masterminds-commas-leading-v-partial-version",
        ),
        pytest.param(
            "semver:>=1.0.0-0",
            tags("1.2.0", "1.3.0-rc.1", "1.3.0-rc.2", "not-a-version"),
            "1.2.0",
            "1.3.0-rc.2",
            {
                "1.3.0-rc.2": Reason.CHOSEN,
                "1.3.0-rc.1": Reason.OLDER_THAN_CHOSEN,
                "1.2.0": Reason.OLDER_THAN_CHOSEN,
                "not-a-version": Reason.UNREADABLE,
            },
            id="semver-range-naming-a-prerelease",
        ),
        pytest.param(
            "semver:^1 || ^3",
            tags("1.5.0", "2.9.0", "3.0.1"),
            "1.5.0",
            "3.0.1",
            {
                "3.0.1": Reason.CHOSEN,
                "1.5.0": Reason.OLDER_THAN_CHOSEN,
                "2.9.0": Reason.FILTERED_OUT,
            },
            id="semver-or",
        ),
        pytest.param(
            r"regex:^main-(?P<ts>\d+)-[0-9a-f]+$",
            tags("main-9-aa", "main-10-bb", "main-x-cc", "dev-11-dd"),
            "main-9-aa",
            "main-10-bb",
            {
                "main-10-bb": Reason.CHOSEN,
                "main-9-aa": Reason.OLDER_THAN_CHOSEN,
                "main-x-cc": Reason.FILTERED_OUT,
                "dev-11-dd": Reason.FILTERED_OUT,
            },
            id="regex-group-ranked-as-a-number",
        ),
        pytest.param(
            r"regex:^b-(?P<n>\w*)$",
            tags("b-3", "b-", "b-abc"),
            None,
            "b-3",
            {"b-3": Reason.CHOSEN, "b-": Reason.UNREADABLE, "b-abc": Reason.UNREADABLE},
            id="regex-group-empty-or-not-a-number",
        ),
        pytest.param(
            r"regex:^(?P<day>\d{8})-\w+$ alphabetical:asc",
            tags("20240102-b", "20231231-z", "2024-x"),
            None,
            "20240102-b",
            {
                "20240102-b": Reason.CHOSEN,
                "20231231-z": Reason.OLDER_THAN_CHOSEN,
                "2024-x": Reason.FILTERED_OUT,
            },
            id="regex-group-ranked-alphabetically",
        ),
        pytest.param(
            "numerical:asc",
            tags("9", "10", "0012", "latest", "1.5"),
            None,
            "0012",
            {
                "0012": Reason.CHOSEN,
                "10": Reason.OLDER_THAN_CHOSEN,
                "9": Reason.OLDER_THAN_CHOSEN,
                "1.5": Reason.OLDER_THAN_CHOSEN,
                "latest": Reason.UNREADABLE,
            },
            id="numerical-asc",
        ),
        pytest.param(
            "numerical:desc",
            tags("9", "10", "-1", "x"),
            None,
            "-1",
            {
                "-1": Reason.CHOSEN,
                "9": Reason.OLDER_THAN_CHOSEN,
                "10": Reason.OLDER_THAN_CHOSEN,
                "x": Reason.UNREADABLE,
            },
            id="numerical-desc",
        ),
        pytest.param(
            "alphabetical:asc",
            tags("RELEASE.2024-01-02", "RELEASE.2023-12-31", "a"),
            None,
            "a",
            {
                "a": Reason.CHOSEN,
                "RELEASE.2024-01-02": Reason.OLDER_THAN_CHOSEN,
                "RELEASE.2023-12-31": Reason.OLDER_THAN_CHOSEN,
            },
            id="alphabetical-asc-is-code-point-order",
        ),
        pytest.param(
            "glob:RELEASE.* alphabetical:desc",
            tags("RELEASE.2024-01-02", "RELEASE.2023-12-31", "a"),
            None,
            "RELEASE.2023-12-31",
            {
                "RELEASE.2023-12-31": Reason.CHOSEN,
                "RELEASE.2024-01-02": Reason.OLDER_THAN_CHOSEN,
                "a": Reason.FILTERED_OUT,
            },
            id="glob-then-alphabetical-desc",
        ),
    ],
)
def test_each_kind_chooses_and_explains(policy, candidates, current, chosen, expected):
    selection = select(parse_policy(policy), candidates, current_tag=current, now=NOW)
    assert selection.chosen == chosen
    assert reasons(selection) == expected
    assert selection.verdicts[0].tag == chosen


def test_semver_sentences():
    selection = select(
        parse_policy("semver:~1.2", min_age="10m"),
        [
            TagCandidate("1.2.3", created=built(600)),
            TagCandidate("1.2.4", created=built(60)),
            TagCandidate("1.2.5", created=built(3)),
            TagCandidate("1.3.0", created=built(600)),
            TagCandidate("latest", created=built(1)),
            TagCandidate("1.2.6-rc.1", created=built(600)),
            TagCandidate("1.2.7"),
        ],
        current_tag="1.2.3",
        now=NOW,
    )
    assert messages(selection) == {
        "1.2.4": "1.2.4: chosen, the highest version in range ~1.2",
        "1.2.3": "1.2.3: current tag, older version than the chosen 1.2.4",
        "1.2.5": "1.2.5: too young (built 3m ago, minimum age 10m)",
        "1.3.0": "1.3.0: outside range ~1.2",
        "latest": "latest: not a semantic version",
        "1.2.6-rc.1": "1.2.6-rc.1: a prerelease, and range ~1.2 names none",
        "1.2.7": "1.2.7: build time unknown, needed for minimum age 10m",
    }
    assert reasons(selection)["1.2.7"] is Reason.MISSING_CREATED_TIME
    assert selection.changed
    assert not selection.up_to_date
    assert selection.summary == "1.2.4 replaces 1.2.3 under semver:~1.2 (7 candidates)"


def test_up_to_date_current_tag_is_reported_as_current_not_chosen_over_itself():
    selection = select(
        parse_policy("semver:~1.2"), tags("1.2.3", "1.2.4", "1.3.0"), current_tag="1.2.4", now=NOW
    )
    assert selection.chosen == "1.2.4"
    assert selection.up_to_date
    assert not selection.changed
    current = selection.verdict("1.2.4")
    assert current is not None
    assert current.reason is Reason.CURRENT
    assert current.is_current
    assert current.message == "1.2.4: current tag, up to date (no candidate ranks above it)"
    assert Reason.CHOSEN not in reasons(selection).values()
    assert "up to date" in selection.summary


def test_current_tag_missing_from_the_registry_is_still_ranked_and_explained():
    selection = select(
        parse_policy("semver:~1.2"), tags("1.2.3", "1.3.0"), current_tag="1.2.4", now=NOW
    )
    assert selection.chosen == "1.2.4"
    current = selection.verdict("1.2.4")
    assert current is not None
    assert not current.listed
    assert current.message.endswith("; not in the registry's tag list")
    assert len(selection.verdicts) == 3
    assert "(2 candidates)" in selection.summary


def test_current_tag_outside_the_policy_is_replaced_and_says_why():
    selection = select(
        parse_policy("semver:~1.2"), tags("1.2.3", "1.3.0"), current_tag="1.3.0", now=NOW
    )
    assert selection.chosen == "1.2.3"
    assert messages(selection)["1.3.0"] == "1.3.0: current tag, outside range ~1.2"


def test_nothing_passes():
    selection = select(
        parse_policy("semver:~2"), tags("1.0.0", "latest"), current_tag="1.0.0", now=NOW
    )
    assert selection.chosen is None
    assert selection.chosen_candidate is None
    assert not selection.changed
    assert selection.summary == "no tag passes semver:~2 (2 candidates); 1.0.0 stays"


def test_no_candidates_and_no_current():
    selection = select(parse_policy("newest"), [], current_tag=None, now=NOW)
    assert selection.chosen is None
    assert selection.verdicts == ()


def test_newest_ranks_by_build_time_and_needs_it():
    candidates = [
        TagCandidate("a", created=built(30), digest="sha256:a"),
        TagCandidate("b", created=built(5), digest="sha256:b"),
        TagCandidate("c"),
    ]
    selection = select(parse_policy("glob:*"), candidates, current_tag="a", now=NOW)
    assert selection.chosen == "b"
    assert selection.chosen_candidate == candidates[1]
    assert reasons(selection) == {
        "b": Reason.CHOSEN,
        "a": Reason.OLDER_THAN_CHOSEN,
        "c": Reason.MISSING_CREATED_TIME,
    }
    assert (
        messages(selection)["b"] == "b: chosen, the most recently built (2024-06-01 11:55:00 UTC)"
    )
    assert messages(selection)["a"] == "a: current tag, built before the chosen b"


def test_naive_build_times_are_taken_as_utc():
    naive_now = NOW.replace(tzinfo=None)
    candidates = [
        TagCandidate("old", created=naive_now - timedelta(hours=2)),
        TagCandidate("new", created=NOW - timedelta(hours=1)),
    ]
    selection = select(parse_policy("newest"), candidates, current_tag=None, now=naive_now)
    assert selection.chosen == "new"


def test_excludes_come_first():
    policy = parse_policy("semver:^1", excludes=["1.9.*", "regex:-debug$"])
    selection = select(
        policy, tags("1.8.0", "1.9.0", "1.8.1-debug", "latest"), current_tag=None, now=NOW
    )
    assert selection.chosen == "1.8.0"
    assert messages(selection)["1.9.0"] == "1.9.0: excluded by glob 1.9.*"
    assert messages(selection)["1.8.1-debug"] == "1.8.1-debug: excluded by regex -debug$"
    assert reasons(selection)["latest"] is Reason.UNREADABLE


def test_min_age_holds_back_young_tags_but_not_the_current_one():
    policy = parse_policy("semver:^1", min_age="1h")
    candidates = [
        TagCandidate("1.0.0", created=built(5)),
        TagCandidate("1.1.0", created=built(30)),
        TagCandidate("1.2.0", created=built(-2)),
        TagCandidate("0.9.0", created=built(6000)),
    ]
    selection = select(policy, candidates, current_tag="1.0.0", now=NOW)
    assert selection.chosen == "1.0.0"
    assert reasons(selection) == {
        "1.0.0": Reason.CURRENT,
        "1.1.0": Reason.TOO_YOUNG,
        "1.2.0": Reason.TOO_YOUNG,
        "0.9.0": Reason.FILTERED_OUT,
    }
    assert messages(selection)["1.1.0"] == "1.1.0: too young (built 30m ago, minimum age 1h)"
    assert messages(selection)["1.2.0"] == (
        "1.2.0: too young (built 2m in the future, minimum age 1h)"
    )
    later = select(policy, candidates, current_tag="1.0.0", now=NOW + timedelta(hours=2))
    assert later.chosen == "1.2.0"


def test_ties_go_to_the_current_tag_then_the_greater_tag_text():
    policy = parse_policy("semver:^1")
    as_current = select(policy, tags("v1.2.0", "1.2.0", "1.2"), current_tag="1.2", now=NOW)
    assert as_current.chosen == "1.2"
    assert reasons(as_current) == {
        "1.2": Reason.CURRENT,
        "v1.2.0": Reason.TIED_WITH_CHOSEN,
        "1.2.0": Reason.TIED_WITH_CHOSEN,
    }
    assert messages(as_current)["v1.2.0"] == (
        "v1.2.0: ranks equal to the chosen 1.2; a tie goes to the current tag"
    )
    no_current = select(policy, tags("1.2.0", "v1.2.0", "1.2"), current_tag=None, now=NOW)
    assert no_current.chosen == "v1.2.0"
    reversed_input = select(policy, tags("1.2", "v1.2.0", "1.2.0"), current_tag=None, now=NOW)
    assert reversed_input.verdicts == no_current.verdicts


def test_semver_on_an_extracted_group_from_config():
    policy = policy_from_config(
        "semver", semver_range="^2", pattern=r"^v(?P<v>.*)-alpine$", extract="v"
    )
    selection = select(
        policy,
        tags("v2.1.0-alpine", "v2.3.0-alpine", "v3.0.0-alpine", "v2.4.0", "vnext-alpine"),
        current_tag=None,
        now=NOW,
    )
    assert selection.chosen == "v2.3.0-alpine"
    assert messages(selection)["v2.3.0-alpine"] == (
        "v2.3.0-alpine: chosen, the highest version in range ^2 (group v = 2.3.0)"
    )
    assert messages(selection)["vnext-alpine"] == (
        "vnext-alpine: not a semantic version (group v is 'next')"
    )
    assert reasons(selection)["v2.4.0"] is Reason.FILTERED_OUT


def test_eligible_verdicts_come_best_first_then_rejected_in_input_order():
    selection = select(
        parse_policy("numerical:asc"), tags("x", "1", "3", "y", "2"), current_tag=None, now=NOW
    )
    assert [v.tag for v in selection.verdicts] == ["3", "2", "1", "x", "y"]


def test_every_candidate_gets_a_verdict_even_duplicates():
    selection = select(
        parse_policy("numerical:asc"), tags("1", "1", "2"), current_tag=None, now=NOW
    )
    assert len(selection.verdicts) == 3
    assert sorted(v.reason for v in selection.verdicts) == sorted(
        [Reason.CHOSEN, Reason.OLDER_THAN_CHOSEN, Reason.OLDER_THAN_CHOSEN]
    )
