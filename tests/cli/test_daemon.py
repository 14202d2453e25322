"""``conveyor daemon``: its help explains every setting, bad settings exit 2 before starting,
and so does a state directory another conveyor process holds (so does a local `automate`)."""

import subprocess
import sys

from typer.testing import CliRunner

from conveyor.cli.main import app
from conveyor.daemon.settings import OPTIONS


def test_help_names_every_option_and_its_variable():
    result = CliRunner().invoke(app, ["daemon", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for option in OPTIONS:
        assert option.flag in result.output, option.flag
        assert option.env in result.output, option.env
    assert "--config-file" in result.output


def test_bad_settings_are_all_reported_and_exit_2(tmp_path):
    result = CliRunner().invoke(
        app,
        ["daemon", "--sync-interval", "soon", "--listen", "nowhere"],
        env={"CONVEYOR_REPO": "", "CONVEYOR_STATE_DIR": str(tmp_path)},
    )
    assert result.exit_code == 2
    assert "--sync-interval: expected seconds" in result.output
    assert "--listen: expected HOST:PORT" in result.output
    assert "repo" in result.output and "is required" in result.output


def test_an_unreadable_settings_file_exits_2(tmp_path):
    result = CliRunner().invoke(app, ["daemon", "--config-file", str(tmp_path / "missing.yaml")])
    assert result.exit_code == 2
    assert "cannot be read" in result.output


HOLD_STATE_DIR = """
import sys
from pathlib import Path
from conveyor.adapters.store import StateDirLock
with StateDirLock.acquire(Path(sys.argv[1])):
    print("held", flush=True)
    sys.stdin.readline()
"""


def hold_in_another_process(state_dir):
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD_STATE_DIR, str(state_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdout.readline() == "held\n"
    return process


def test_a_daemon_on_a_state_dir_another_process_holds_exits_2_naming_it(tmp_path):
    state = tmp_path / "state"
    with hold_in_another_process(state) as holder:
        result = CliRunner().invoke(
            app,
            ["daemon", "--repo", str(tmp_path / "config.git"), "--state-dir", str(state)],
            env={"CONVEYOR_API_TOKEN": "t" * 24},
        )
        holder.stdin.close()
    assert result.exit_code == 2
    assert f"the state directory {state} is in use by another conveyor process" in result.output
    assert f"(pid {holder.pid})" in result.output
    assert "another --state-dir" in result.output
    assert not (state / "sync").exists(), "nothing under the held directory was touched"


def test_a_local_automate_waits_for_no_one_and_runs_once_the_holder_is_gone(tmp_path):
    state = tmp_path / "state"
    argv = ["automate", "--repo", str(tmp_path / "missing.git"), "--state-dir", str(state)]
    with hold_in_another_process(state) as holder:
        refused = CliRunner().invoke(app, argv)
        holder.stdin.close()
    assert refused.exit_code == 2
    assert f"pid {holder.pid}" in refused.output
    # The holder exited: the lock is free, so the run gets as far as the (missing) repo.
    ran = CliRunner().invoke(app, argv)
    assert ran.exit_code == 2
    assert "in use by another conveyor process" not in ran.output
    assert (state / "lock").read_text() == "", "released when the run ended"
