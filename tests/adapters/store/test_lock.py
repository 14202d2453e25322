"""The state directory lock: one process at a time, real processes, real flock."""

import os
import subprocess
import sys

import pytest

from conveyor.adapters.store import (
    LOCK_FILE,
    StateDirLock,
    StateDirLocked,
    StoreError,
    StoreUnavailable,
)

HOLD = """
import sys
from pathlib import Path
from conveyor.adapters.store import StateDirLock
with StateDirLock.acquire(Path(sys.argv[1])):
    print("held", flush=True)
    sys.stdin.readline()
"""

TRY = """
import sys
from pathlib import Path
from conveyor.adapters.store import StateDirLocked, StateDirLock
try:
    StateDirLock.acquire(Path(sys.argv[1])).release()
except StateDirLocked as e:
    print(e)
    sys.exit(3)
print("acquired")
"""


@pytest.fixture
def holder(tmp_path):
    """Another process holding ``tmp_path / "state"``; ``.stdin.close()`` lets it go."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path / "state")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdout.readline() == "held\n"
    with process:  # closes its pipes
        yield process
        if process.poll() is None:
            process.kill()


def try_in_another_process(state_dir):
    return subprocess.run(
        [sys.executable, "-c", TRY, str(state_dir)], capture_output=True, text=True, check=False
    )


def test_a_held_directory_is_refused_naming_it_the_holder_and_the_way_out(tmp_path, holder):
    with pytest.raises(StateDirLocked) as refused:
        StateDirLock.acquire(tmp_path / "state")
    message = str(refused.value)
    assert str(tmp_path / "state") in message
    assert f"pid {holder.pid}" in message
    assert "--state-dir" in message and "stop that process" in message
    assert isinstance(refused.value, StoreError)


def test_the_lock_is_free_once_the_holder_exits_even_when_killed(tmp_path, holder):
    holder.kill()
    holder.wait()
    with StateDirLock.acquire(tmp_path / "state") as lock:
        assert (tmp_path / "state" / LOCK_FILE).read_text() == f"{os.getpid()}\n"
        assert "held" in repr(lock)


def test_a_holder_in_this_process_keeps_other_processes_out_until_released(tmp_path):
    lock = StateDirLock.acquire(tmp_path / "state")
    refused = try_in_another_process(tmp_path / "state")
    assert refused.returncode == 3
    assert f"pid {os.getpid()}" in refused.stdout
    lock.release()
    lock.release()  # twice is harmless
    assert (tmp_path / "state" / LOCK_FILE).read_text() == "", "no stale pid left behind"
    assert try_in_another_process(tmp_path / "state").stdout == "acquired\n"


def test_a_state_dir_that_cannot_be_created_is_reported(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreUnavailable, match="cannot create the lock file"):
        StateDirLock.acquire(blocker / "state")
