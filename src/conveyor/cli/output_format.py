"""The ``-o`` choices every command shares."""

from __future__ import annotations

import enum


class OutputFormat(enum.StrEnum):
    TABLE = "table"
    JSON = "json"
    YAML = "yaml"
