"""The human half of a verdict: short sentences that say why, in the policy's own terms."""

from __future__ import annotations

from datetime import datetime, timedelta

from conveyor.core.policy.model import SortKind, SortOrder, TagPolicy


def format_duration(duration: timedelta) -> str:
    """`45s`, `3m`, `1h5m`, `2d3h`: two units at most, enough to compare against a minimum."""
    seconds = int(abs(duration).total_seconds())
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m" + (f"{seconds}s" if seconds and minutes < 10 else "")
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h" + (f"{minutes}m" if minutes else "")
    days, hours = divmod(hours, 24)
    return f"{days}d" + (f"{hours}h" if hours else "")


def format_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _ranked_value(policy: TagPolicy) -> str:
    """What is being ranked: the tag itself, or the extracted group."""
    return f"group {policy.extract}" if policy.extract is not None else "tag"


def best_phrase(policy: TagPolicy, *, value: str, created: datetime | None) -> str:
    """Why the chosen tag ranks first, e.g. `the highest version in range ~1.2`."""
    extracted = f" ({_ranked_value(policy)} = {value})" if policy.extract is not None else ""
    highest = policy.order is SortOrder.ASC
    if policy.sort is SortKind.SEMVER:
        assert policy.semver_range is not None
        return f"the highest version in range {policy.semver_range}{extracted}"
    if policy.sort is SortKind.NUMERICAL:
        return f"the {'highest' if highest else 'lowest'} number{extracted}"
    if policy.sort is SortKind.ALPHABETICAL:
        return f"{'last' if highest else 'first'} in alphabetical order{extracted}"
    built = f" ({format_time(created)})" if created is not None else ""
    return f"the most recently built{built}"


def below_phrase(policy: TagPolicy, *, chosen: str) -> str:
    """Why an eligible tag lost to the chosen one, e.g. `older version than the chosen 1.2.5`."""
    ascending = policy.order is SortOrder.ASC
    of_group = f" ({_ranked_value(policy)})" if policy.extract is not None else ""
    if policy.sort is SortKind.SEMVER:
        return f"older version than the chosen {chosen}{of_group}"
    if policy.sort is SortKind.NUMERICAL:
        return f"{'lower' if ascending else 'higher'} number than the chosen {chosen}{of_group}"
    if policy.sort is SortKind.ALPHABETICAL:
        return f"sorts {'before' if ascending else 'after'} the chosen {chosen}{of_group}"
    return f"built before the chosen {chosen}"


def tie_phrase(*, chosen: str, chosen_is_current: bool) -> str:
    winner = "the current tag" if chosen_is_current else "the greater tag text"
    return f"ranks equal to the chosen {chosen}; a tie goes to {winner}"


def unreadable_phrase(policy: TagPolicy, *, value: str) -> str:
    what = {
        SortKind.SEMVER: "not a semantic version",
        SortKind.NUMERICAL: "not a number",
        SortKind.ALPHABETICAL: "not readable",  # never used: any text sorts alphabetically
        SortKind.NEWEST: "not readable",
    }[policy.sort]
    if policy.extract is not None:
        return f"{what} ({_ranked_value(policy)} is {value!r})"
    return what


def too_young_phrase(*, age: timedelta, min_age: timedelta, origin: str | None = None) -> str:
    """E.g. `too young (built 5m ago, minimum age 30m)`; `origin` names where the minimum is set."""
    minimum = format_duration(min_age) + (f" from {origin}" if origin else "")
    if age < timedelta(0):
        return f"too young (built {format_duration(age)} in the future, minimum age {minimum})"
    return f"too young (built {format_duration(age)} ago, minimum age {minimum})"


def summary(
    policy: TagPolicy, *, chosen: str | None, current_tag: str | None, candidates: int
) -> str:
    """One line for the whole selection."""
    counted = f"{candidates} candidate{'s' if candidates != 1 else ''}"
    if chosen is None:
        stays = f"; {current_tag} stays" if current_tag is not None else ""
        return f"no tag passes {policy} ({counted}){stays}"
    if chosen == current_tag:
        return f"{chosen} is up to date under {policy} ({counted})"
    if current_tag is None:
        return f"{chosen} chosen under {policy} ({counted})"
    return f"{chosen} replaces {current_tag} under {policy} ({counted})"
