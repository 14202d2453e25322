"""Waiting for the real services to reach a state: poll a check until it gives something truthy.

The patience is only a limit for giving up, never the thing a test checks.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

import pytest

PATIENCE = 90.0  # seconds; a first sync plus a rollout fits with room to spare
INTERVAL = 0.2  # seconds between two checks

T = TypeVar("T")


def wait_until(check: Callable[[], T], what: str, *, patience: float = PATIENCE) -> T:
    """Call ``check`` until it returns something truthy, and return that; fail the test naming
    ``what`` once ``patience`` seconds have passed."""
    deadline = time.monotonic() + patience
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(INTERVAL)


async def eventually(check: Callable[[], T], what: str, *, patience: float = PATIENCE) -> T:
    """``wait_until`` for async tests: the blocking ``check`` runs in a thread, so an API served
    by this event loop can answer it."""
    deadline = time.monotonic() + patience
    while True:
        found = await asyncio.to_thread(check)
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        await asyncio.sleep(INTERVAL)
