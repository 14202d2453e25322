"""Processes of the test environment: free ports, background services, waiting, stopping.

Every service is started in its own session (process group) with its output in a log file in the
environment's work directory, so ``down`` can stop it and its children even from another process,
and a failure can show the log tail that explains it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from conveyor.testing.errors import ServiceError

# Popen objects of every service this process started: kept so none is garbage-collected while
# running (which would warn), and so a failed ``up`` can stop what it already started.
STARTED: list[subprocess.Popen[bytes]] = []


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def port_is_free(port: int) -> bool:
    """True when a listener could bind ``127.0.0.1:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def log_tail(path: Path, lines: int = 15) -> str:
    """The last lines of a log file, for error messages."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


@dataclass(frozen=True)
class Service:
    """A started background process, as recorded in the environment's state file."""

    name: str
    pid: int
    log: Path

    def alive(self) -> bool:
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        # A zombie child still answers kill(0); look at its state to tell.
        try:
            stat = Path(f"/proc/{self.pid}/stat").read_text()
        except OSError:
            return False
        return stat.rsplit(")", 1)[-1].split()[0] != "Z"

    def failure(self, what: str) -> ServiceError:
        return ServiceError(
            f"{self.name}: {what}\n--- last lines of {self.log} ---\n{log_tail(self.log)}"
        )


def start(
    name: str,
    argv: Sequence[str],
    *,
    workdir: Path,
    env: Mapping[str, str] | None = None,
) -> Service:
    """Start ``argv`` in the background with its output in ``workdir/logs/NAME.log``."""
    logs = workdir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{name}.log"
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    with log.open("ab") as out:
        try:
            proc = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=workdir,
                env=full_env,
                start_new_session=True,
            )
        except OSError as e:
            raise ServiceError(f"{name}: could not start {argv[0]}: {e}") from e
    STARTED.append(proc)
    return Service(name=name, pid=proc.pid, log=log)


def wait_until(
    check: Callable[[], bool],
    *,
    service: Service | None,
    what: str,
    timeout: float = 30.0,
    interval: float = 0.05,
) -> None:
    """Poll ``check`` until it is true; fail early when the service dies, with its log."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(Exception):
            if check():
                return
        if service is not None and not service.alive():
            raise service.failure(f"exited while waiting for {what}")
        if time.monotonic() > deadline:
            if service is not None:
                raise service.failure(f"timed out after {timeout:.0f}s waiting for {what}")
            raise ServiceError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def tcp_listening(port: int) -> bool:
    """True when something accepts connections on ``127.0.0.1:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def stop(pid: int, *, grace: float = 5.0) -> None:
    """Stop a service's whole process group: TERM, then KILL after ``grace`` seconds."""
    try:
        pgid = os.getpgid(pid)
    except ProcessLookupError:
        _forget(pid)
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            _forget(pid)
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)
    _forget(pid)


def _forget(pid: int) -> None:
    """Drop a stopped child from STARTED once Popen has seen it exit (so it never warns)."""
    for proc in [p for p in STARTED if p.pid == pid]:
        proc.poll()  # reaps it, or notes that it was already reaped
        STARTED.remove(proc)
