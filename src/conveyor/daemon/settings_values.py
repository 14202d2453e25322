"""Reading one setting's value: durations (``500ms``, ``30s``, ``5m``, ``1h``), listen addresses,
booleans, lists and plain text, each raising ValueError with a message that never quotes the
value (a value may be a secret put in the wrong place). Used by :mod:`.settings`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from conveyor.core.config_reader import kind_of

__all__ = [
    "DEFAULT_LISTEN",
    "Kind",
    "ListenAddress",
    "convert_value",
    "parse_duration",
    "parse_listen",
]

Kind = Literal["text", "path", "seconds", "bool", "list", "listen", "level", "format"]

_DURATION = re.compile(r"^\s*(?P<number>[0-9]+(?:\.[0-9]+)?)\s*(?P<unit>ms|s|m|h)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}
_LEVELS = ("debug", "info", "warning", "error")


@dataclass(frozen=True)
class ListenAddress:
    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


DEFAULT_LISTEN = ListenAddress("127.0.0.1", 8080)
"""Loopback only: the API is opened wider on purpose, with ``--listen``."""


def parse_duration(value: object) -> float:
    """Seconds from a number or from ``500ms``/``30s``/``5m``/``1h``; ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError("expected seconds, got true/false")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (match := _DURATION.match(value)):
        seconds = float(match.group("number")) * _UNIT_SECONDS[match.group("unit")]
    else:
        raise ValueError("expected seconds, or a number with ms, s, m or h")
    if seconds <= 0:
        raise ValueError("must be more than 0 seconds")
    return seconds


def parse_listen(value: str) -> ListenAddress:
    """``host:port``, ``[ipv6]:port`` or ``:port`` (all interfaces); port 0 picks a free one."""
    text = value.strip()
    host, separator, port = text.rpartition(":")
    if not separator or not port.isdigit() or int(port) > 65535:
        raise ValueError("expected HOST:PORT, for example 127.0.0.1:8080 or :8080")
    host = host.removeprefix("[").removesuffix("]") if host.startswith("[") else host
    if ":" in host and not text.startswith("["):
        raise ValueError("put an IPv6 address in brackets: [::1]:8080")
    return ListenAddress(host or "0.0.0.0", int(port))  # noqa: S104  # an explicit ":PORT"


def convert_value(kind: Kind, raw: object) -> object:
    if kind == "seconds":
        return parse_duration(raw)
    if kind == "bool":
        return _boolean(raw)
    if kind == "list":
        return _string_list(raw)
    text = _text(raw)
    if kind == "path":
        return Path(text).expanduser()
    if kind == "listen":
        return parse_listen(text)
    if kind == "level":
        if text.lower() not in _LEVELS:
            raise ValueError(f"expected one of {', '.join(_LEVELS)}")
        return text.lower()
    if kind == "format":
        if text not in ("json", "console"):
            raise ValueError("expected json or console")
        return text
    return text


def _text(raw: object) -> str:
    if isinstance(raw, Path):
        return str(raw)
    if not isinstance(raw, str):
        raise ValueError(f"expected text, got {kind_of(raw)}")
    if not raw.strip():
        raise ValueError("is empty")
    return raw.strip()


def _boolean(raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in ("true", "1", "yes", "on"):
        return True
    if isinstance(raw, str) and raw.strip().lower() in ("false", "0", "no", "off"):
        return False
    raise ValueError(f"expected true or false, got {kind_of(raw)}")


def _string_list(raw: object) -> tuple[str, ...]:
    """A YAML list, repeated flags, or (from a variable) a comma-separated list."""
    items = raw.split(",") if isinstance(raw, str) else raw
    if not isinstance(items, list | tuple):
        raise ValueError(f"expected a list, got {kind_of(raw)}")
    found = tuple(_text(item) for item in items if not (isinstance(item, str) and not item.strip()))
    if not found:
        raise ValueError("is empty")
    return found
