"""Reading a loaded YAML document with every problem collected under its key path.

A :class:`Reader` checks types and keys and records a :class:`ConfigProblem` for each thing that
is wrong instead of stopping at the first, so a user fixes a config in one round. It never quotes
a value it was given in a problem (a misplaced password must not end up in a log): it says what
kind of value it found instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ConfigProblem", "Reader"]

_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


@dataclass(frozen=True)
class ConfigProblem:
    path: str
    """Where: ``registries[0].host``, ``imagePolicies."flux-system:app".policy``; '' for the top."""
    message: str

    def __str__(self) -> str:
        return f"{self.path or '(top level)'}: {self.message}"


def kind_of(node: object) -> str:
    """What a value is, in words, without showing it."""
    if node is None:
        return "nothing"
    if isinstance(node, bool):
        return "true/false"
    if isinstance(node, int | float):
        return "a number (quote it to make it text)"
    if isinstance(node, str):
        return "text"
    if isinstance(node, Mapping):
        return "a mapping"
    if isinstance(node, list | tuple):
        return "a list"
    return type(node).__name__


@dataclass
class Reader:
    problems: list[ConfigProblem] = field(default_factory=list)

    def problem(self, path: str, message: str) -> None:
        self.problems.append(ConfigProblem(path, message))

    @staticmethod
    def key(name: str) -> str:
        """A key as it appears in a path: quoted when it is not a plain word."""
        return name if _PLAIN_KEY.fullmatch(name) else f'"{name}"'

    def mapping(self, node: object, path: str) -> dict[str, Any] | None:
        if isinstance(node, Mapping):
            return {str(key): value for key, value in node.items()}
        self.problem(path, f"expected a mapping, got {kind_of(node)}")
        return None

    def known_keys(self, entry: Mapping[str, Any], path: str, allowed: set[str]) -> None:
        for key in entry:
            if key not in allowed:
                where = f"{path}.{self.key(key)}" if path else self.key(key)
                self.problem(where, f"unknown key; the keys here are {', '.join(sorted(allowed))}")

    def string(
        self, node: object, path: str, *, required: bool = False, strip: bool = True
    ) -> str | None:
        if node is None:
            if required:
                self.problem(path, "is required")
            return None
        if not isinstance(node, str):
            self.problem(path, f"expected text, got {kind_of(node)}")
            return None
        if not node.strip():
            self.problem(path, "is empty")
            return None
        return node.strip() if strip else node

    def strings(self, node: object, path: str) -> list[str]:
        found = []
        for where, item in self.items(node, path):
            text = self.string(item, where, required=True)
            if text is not None:
                found.append(text)
        return found

    def boolean(self, node: object, path: str) -> bool | None:
        if isinstance(node, bool):
            return node
        self.problem(path, f"expected true or false, got {kind_of(node)}")
        return None

    def items(self, node: object, path: str) -> Iterator[tuple[str, Any]]:
        """``(path[i], item)`` for each item of a list; nothing (and a problem) for a non-list."""
        if node is None:
            return
        if not isinstance(node, list | tuple):
            self.problem(path, f"expected a list, got {kind_of(node)}")
            return
        for index, item in enumerate(node):
            yield f"{path}[{index}]", item
