"""A real ``conveyor daemon`` in a subprocess: started without the caller's ``CONVEYOR_*``
variables, its JSON log in a file, its URL read from that log once it serves, stopped with
SIGTERM."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from .polling import wait_until

SERVING = "conveyor daemon serving on "


def daemon_argv(flags: Mapping[str, object], *switches: str) -> list[str]:
    """``python -m conveyor daemon``, the ``switches``, then ``--name value`` for each flag
    (underscores in names become dashes; a list value repeats the flag)."""
    argv = [sys.executable, "-m", "conveyor", "daemon", *switches]
    for name, value in flags.items():
        for item in value if isinstance(value, list) else [value]:
            argv += [f"--{name.replace('_', '-')}", str(item)]
    return argv


class DaemonProcess:
    """One daemon process and its log; ``url`` is set by ``wait_until_serving``."""

    def __init__(self, argv: list[str], log_path: Path, *, name: str = "the daemon") -> None:
        self.name = name
        self.log_path = log_path
        self.url = ""
        # The test's own settings must come from the flags alone, not from the caller's shell.
        environ = {k: v for k, v in os.environ.items() if not k.startswith("CONVEYOR_")}
        with log_path.open("w") as log:
            self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=environ)

    def served_url(self) -> str | None:
        """The URL the log says the daemon serves on; None before that; fails if it exited."""
        if self.process.poll() is not None:
            pytest.fail(f"{self.name} exited with {self.process.returncode}:\n{self.log_text()}")
        for line in self.log_text().splitlines():
            if SERVING in line:
                return str(json.loads(line)["event"].split(SERVING, 1)[1].split()[0])
        return None

    def wait_until_serving(self) -> str:
        self.url = wait_until(self.served_url, f"{self.name} to serve")
        return self.url

    def stop(self) -> int:
        """SIGTERM (unless it already ended), then its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)

    def log_text(self) -> str:
        return self.log_path.read_text()

    def events(self) -> list[str]:
        """The ``event`` of every JSON log line, oldest first."""
        lines = self.log_text().splitlines()
        return [json.loads(line)["event"] for line in lines if line.strip()]


@contextlib.contextmanager
def running_daemon(argv: list[str], log_path: Path) -> Iterator[DaemonProcess]:
    """The daemon, once it serves; stopped on the way out, even when the test fails."""
    daemon = DaemonProcess(argv, log_path)
    try:
        daemon.wait_until_serving()
        yield daemon
    finally:
        daemon.stop()
