"""Drift: how a live object differs from what the repo wants.

``diff_objects`` compares two object bodies field by field and returns the changed paths. Two
ways to use it:

- ``subset=True``: only the fields present in ``expected`` are compared, so defaults the apiserver
  filled in (and fields other managers own) are not drift. Lists of maps are matched by their
  merge key (``name``, ``containerPort``...), the way server-side apply merges them.
- ``subset=False``: every field is compared; meant for ``expected`` being the result of a
  server-side dry-run apply (which already holds the defaults), against the live object.

Bookkeeping that changes on every write (resourceVersion, managedFields, generation, status...)
is never drift.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_VOLATILE_METADATA = frozenset(
    {"resourceVersion", "managedFields", "generation", "creationTimestamp", "uid", "selfLink"}
)
# Keys that identify an element of a list of maps, in the order they are tried.
_MERGE_KEYS = ("name", "containerPort", "port", "mountPath", "devicePath", "ip", "type", "key")
_ABSENT = object()


@dataclass(frozen=True)
class FieldChange:
    """One differing field: its path (``spec.template.spec.containers[app].image``), the value
    the repo wants and the value live (None when absent on that side)."""

    path: str
    desired: Any
    live: Any

    def __str__(self) -> str:
        return f"{self.path}: repo {self.desired!r}, live {self.live!r}"


def diff_objects(
    expected: Mapping[str, Any], live: Mapping[str, Any], *, subset: bool = True
) -> tuple[FieldChange, ...]:
    """The fields on which ``live`` differs from ``expected`` (empty when in sync)."""
    changes: list[FieldChange] = []
    for key in _keys(expected, live, subset=subset):
        if key == "status":
            continue
        if key == "metadata":
            _diff_metadata(expected.get(key) or {}, live.get(key) or {}, subset, changes)
            continue
        _diff(expected.get(key, _ABSENT), live.get(key, _ABSENT), key, subset, changes)
    return tuple(changes)


def _keys(expected: Mapping[str, Any], live: Mapping[str, Any], *, subset: bool) -> list[str]:
    if subset:
        return list(expected)
    return list(dict.fromkeys([*expected, *live]))


def _diff_metadata(
    expected: Mapping[str, Any], live: Mapping[str, Any], subset: bool, out: list[FieldChange]
) -> None:
    for key in _keys(expected, live, subset=subset):
        if key in _VOLATILE_METADATA:
            continue
        _diff(expected.get(key, _ABSENT), live.get(key, _ABSENT), f"metadata.{key}", subset, out)


def _diff(expected: Any, live: Any, path: str, subset: bool, out: list[FieldChange]) -> None:
    if expected is _ABSENT and live is _ABSENT:
        return
    if isinstance(expected, Mapping) and isinstance(live, Mapping):
        for key in _keys(expected, live, subset=subset):
            _diff(expected.get(key, _ABSENT), live.get(key, _ABSENT), f"{path}.{key}", subset, out)
        return
    if isinstance(expected, list) and isinstance(live, list):
        _diff_lists(expected, live, path, subset, out)
        return
    if _same_scalar(expected, live) or (subset and live is _ABSENT and not expected):
        # Empty maps, lists and nulls in the repo are often not stored at all: not drift.
        return
    out.append(FieldChange(path, _present(expected), _present(live)))


def _diff_lists(
    expected: list[Any], live: list[Any], path: str, subset: bool, out: list[FieldChange]
) -> None:
    merge_key = _merge_key(expected, live)
    if merge_key is None:
        if len(expected) != len(live):
            out.append(FieldChange(path, expected, live))
            return
        for position, (want, have) in enumerate(zip(expected, live, strict=True)):
            _diff(want, have, f"{path}[{position}]", subset, out)
        return
    live_by_key = {item.get(merge_key): item for item in live}
    expected_keys = {item.get(merge_key) for item in expected}
    for item in expected:
        identity = item.get(merge_key)
        _diff(item, live_by_key.get(identity, _ABSENT), f"{path}[{identity}]", subset, out)
    if not subset:
        for item in live:
            if item.get(merge_key) not in expected_keys:
                out.append(FieldChange(f"{path}[{item.get(merge_key)}]", None, item))


def _merge_key(expected: list[Any], live: list[Any]) -> str | None:
    items = expected + live
    if not items or not all(isinstance(item, Mapping) for item in items):
        return None
    for key in _MERGE_KEYS:
        values = [item.get(key) for item in items]
        unique_in_expected = len({str(v) for v in values[: len(expected)]}) == len(expected)
        if all(value is not None for value in values) and unique_in_expected:
            return key
    return None


def _same_scalar(expected: Any, live: Any) -> bool:
    if expected == live:
        return True
    # The apiserver stores numbers and quantities it was given as strings, and vice versa
    # (`port: "80"` vs 80, `cpu: 1` vs "1"); those are not drift.
    if isinstance(expected, int | float | str) and isinstance(live, int | float | str):
        return not isinstance(expected, bool) and str(expected) == str(live)
    return False


def _present(value: Any) -> Any:
    return None if value is _ABSENT else value


REDACTED = "(redacted)"


def redacted(changes: tuple[FieldChange, ...]) -> tuple[FieldChange, ...]:
    """The same changes with their values hidden: for Secrets, whose drift is recorded in the
    cluster and printed, but whose values must never be."""
    return tuple(FieldChange(c.path, REDACTED, REDACTED) for c in changes)
