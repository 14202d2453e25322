"""Choosing a tag under a policy, with a verdict (reason and sentence) for every candidate.

Each tag is read once into a rank key; eligible tags are sorted once. Ties are broken the same
way every time: the current tag wins a tie (equal builds never churn), then the greater tag
text, then the earlier candidate.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from conveyor.core.policy import explain
from conveyor.core.policy.keys import parse_number, parse_version
from conveyor.core.policy.model import SortKind, SortOrder, TagPolicy


class Reason(StrEnum):
    """Why a candidate was or was not chosen (machine-readable; the sentence says more)."""

    CHOSEN = "chosen"
    """A tag other than the current one, chosen to replace it."""
    CURRENT = "current"
    """The current tag, which stays the choice: up to date."""
    OLDER_THAN_CHOSEN = "older_than_chosen"
    """Eligible, but ranks below the chosen tag under the policy's ordering."""
    TIED_WITH_CHOSEN = "tied_with_chosen"
    FILTERED_OUT = "filtered_out"
    """Does not match the glob or regex, or is outside the semver range."""
    PRERELEASE = "prerelease"
    """In the range only as a prerelease, and the range names none."""
    EXCLUDED = "excluded"
    TOO_YOUNG = "too_young"
    UNREADABLE = "unreadable"
    """Not a semantic version, not a number, or the regex group to rank by is empty."""
    MISSING_CREATED_TIME = "missing_created_time"


@dataclass(frozen=True)
class TagCandidate:
    """A tag in the registry; `created` is the build time when the caller knows it."""

    tag: str
    created: datetime | None = None
    digest: str | None = None


@dataclass(frozen=True)
class TagVerdict:
    candidate: TagCandidate
    reason: Reason
    message: str
    """A sentence starting with the tag, e.g. `1.3.0: outside range ~1.2`."""
    is_current: bool = False
    listed: bool = True
    """False for a current tag the caller's candidate list did not include."""

    @property
    def tag(self) -> str:
        return self.candidate.tag


@dataclass(frozen=True)
class Selection:
    policy: TagPolicy
    current_tag: str | None
    chosen: str | None
    """The tag the workload should run, or None when no tag passes the policy."""
    verdicts: tuple[TagVerdict, ...]
    """Eligible tags best first (the chosen one leads), then the rejected in candidate order."""
    summary: str

    @property
    def changed(self) -> bool:
        """Whether the chosen tag differs from the current one (a release is due)."""
        return self.chosen is not None and self.chosen != self.current_tag

    @property
    def up_to_date(self) -> bool:
        return self.chosen is not None and self.chosen == self.current_tag

    @property
    def chosen_candidate(self) -> TagCandidate | None:
        if self.chosen is None:
            return None
        return self.verdicts[0].candidate

    def verdict(self, tag: str) -> TagVerdict | None:
        return next((v for v in self.verdicts if v.tag == tag), None)


@dataclass(frozen=True)
class _Eligible:
    index: int
    candidate: TagCandidate
    key: Any
    value: str
    created: datetime | None
    is_current: bool
    listed: bool


@dataclass(frozen=True)
class _Rejected:
    candidate: TagCandidate
    reason: Reason
    detail: str
    is_current: bool
    listed: bool


def select(
    policy: TagPolicy,
    candidates: Iterable[TagCandidate],
    *,
    current_tag: str | None,
    now: datetime,
) -> Selection:
    """Choose the best tag under `policy` and explain every candidate.

    The current tag is exempt from `min_age` (it already runs). When the caller's candidates do
    not include it, it is still ranked (with no build time) and gets a verdict, unlisted.
    """
    now = _as_utc(now)
    listed = list(candidates)
    entries: list[tuple[TagCandidate, bool]] = [(c, c.tag == current_tag) for c in listed]
    if current_tag is not None and not any(is_current for _, is_current in entries):
        entries.append((TagCandidate(current_tag), True))

    eligible: list[_Eligible] = []
    rejected: list[_Rejected] = []
    for index, (candidate, is_current) in enumerate(entries):
        outcome = _evaluate(
            policy,
            candidate,
            index=index,
            is_current=is_current,
            listed=index < len(listed),
            now=now,
        )
        if isinstance(outcome, _Eligible):
            eligible.append(outcome)
        else:
            rejected.append(outcome)

    # Two stable sorts: tie-breakers first, then the policy's key decides the order.
    eligible.sort(key=lambda e: (e.is_current, e.candidate.tag, -e.index), reverse=True)
    eligible.sort(key=lambda e: e.key, reverse=policy.order is SortOrder.ASC)
    chosen = eligible[0] if eligible else None

    verdicts = [_eligible_verdict(policy, entry, chosen=chosen) for entry in eligible]
    verdicts.extend(_rejected_verdict(entry) for entry in rejected)
    chosen_tag = chosen.candidate.tag if chosen is not None else None
    return Selection(
        policy=policy,
        current_tag=current_tag,
        chosen=chosen_tag,
        verdicts=tuple(verdicts),
        summary=explain.summary(
            policy, chosen=chosen_tag, current_tag=current_tag, candidates=len(listed)
        ),
    )


@dataclass(frozen=True)
class _Refusal:
    reason: Reason
    detail: str


def _evaluate(
    policy: TagPolicy,
    candidate: TagCandidate,
    *,
    index: int,
    is_current: bool,
    listed: bool,
    now: datetime,
) -> _Eligible | _Rejected:
    created = _as_utc(candidate.created) if candidate.created is not None else None
    value = _value_to_rank(policy, candidate.tag)
    key = _rank_key(policy, value, created=created) if isinstance(value, str) else value
    if not isinstance(key, _Refusal) and not is_current:
        # The current tag already runs: a minimum age only guards moving to a new tag.
        key = _age_refusal(policy, created=created, now=now) or key
    if isinstance(key, _Refusal):
        return _Rejected(candidate, key.reason, key.detail, is_current, listed)
    assert isinstance(value, str)
    return _Eligible(index, candidate, key, value, created, is_current, listed)


def _value_to_rank(policy: TagPolicy, tag: str) -> str | _Refusal:
    """The tag, or its extracted group, once the excludes and the pattern let it through."""
    for exclude in policy.excludes:
        if exclude.match(tag):
            written = f" ({exclude.origin})" if exclude.origin else ""
            return _Refusal(Reason.EXCLUDED, f"excluded by {exclude}{written}")
    if policy.pattern is None:
        return tag
    match = policy.pattern.match(tag)
    if match is None:
        return _Refusal(Reason.FILTERED_OUT, f"does not match {policy.pattern}")
    if policy.extract is None:
        return tag
    extracted = match.group(int(policy.extract) if policy.extract.isdigit() else policy.extract)
    if not extracted:
        return _Refusal(Reason.UNREADABLE, f"regex group {policy.extract} is empty")
    return str(extracted)


def _rank_key(policy: TagPolicy, value: str, *, created: datetime | None) -> Any:
    """The key the policy ranks `value` by, or the `_Refusal` saying why it has none."""
    if policy.sort is SortKind.ALPHABETICAL:
        return value
    if policy.sort is SortKind.NEWEST:
        if created is None:
            return _Refusal(Reason.MISSING_CREATED_TIME, "build time unknown, needed to rank it")
        return created
    if policy.sort is SortKind.NUMERICAL:
        number = parse_number(value)
        if number is None:
            return _Refusal(Reason.UNREADABLE, explain.unreadable_phrase(policy, value=value))
        return number
    semver_range = policy.semver_range
    assert semver_range is not None
    version = parse_version(value)
    if version is None:
        return _Refusal(Reason.UNREADABLE, explain.unreadable_phrase(policy, value=value))
    if semver_range.admits(version.semver):
        return version.key
    if version.is_prerelease and semver_range.admits_if_prereleases_were_allowed(version.semver):
        return _Refusal(Reason.PRERELEASE, f"a prerelease, and range {semver_range} names none")
    return _Refusal(Reason.FILTERED_OUT, f"outside range {semver_range}")


def _age_refusal(policy: TagPolicy, *, created: datetime | None, now: datetime) -> _Refusal | None:
    if policy.min_age is None:
        return None
    if created is None:
        minimum = explain.format_duration(policy.min_age)
        written = f" ({policy.min_age_origin})" if policy.min_age_origin else ""
        return _Refusal(
            Reason.MISSING_CREATED_TIME,
            f"build time unknown, needed for minimum age {minimum}{written}",
        )
    age = now - created
    if age < policy.min_age:
        return _Refusal(
            Reason.TOO_YOUNG,
            explain.too_young_phrase(age=age, min_age=policy.min_age, origin=policy.min_age_origin),
        )
    return None


def _eligible_verdict(
    policy: TagPolicy, entry: _Eligible, *, chosen: _Eligible | None
) -> TagVerdict:
    assert chosen is not None  # an eligible entry implies a chosen one
    chosen_tag = chosen.candidate.tag
    if entry is chosen:
        if entry.is_current:
            reason = Reason.CURRENT
            detail = "up to date (no candidate ranks above it)"
        else:
            reason = Reason.CHOSEN
            detail = "chosen, " + explain.best_phrase(
                policy, value=entry.value, created=entry.created
            )
    elif entry.key == chosen.key:
        reason = Reason.TIED_WITH_CHOSEN
        detail = explain.tie_phrase(chosen=chosen_tag, chosen_is_current=chosen.is_current)
    else:
        reason = Reason.OLDER_THAN_CHOSEN
        detail = explain.below_phrase(policy, chosen=chosen_tag)
    return TagVerdict(
        candidate=entry.candidate,
        reason=reason,
        message=_sentence(
            entry.candidate.tag, detail, is_current=entry.is_current, listed=entry.listed
        ),
        is_current=entry.is_current,
        listed=entry.listed,
    )


def _rejected_verdict(entry: _Rejected) -> TagVerdict:
    return TagVerdict(
        candidate=entry.candidate,
        reason=entry.reason,
        message=_sentence(
            entry.candidate.tag, entry.detail, is_current=entry.is_current, listed=entry.listed
        ),
        is_current=entry.is_current,
        listed=entry.listed,
    )


def _sentence(tag: str, detail: str, *, is_current: bool, listed: bool) -> str:
    current = "current tag, " if is_current else ""
    unlisted = "; not in the registry's tag list" if not listed else ""
    return f"{tag}: {current}{detail}{unlisted}"


def _as_utc(moment: datetime) -> datetime:
    # A naive time is taken as UTC: image build times are, and mixing would raise on compare.
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
