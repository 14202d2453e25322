"""``conveyor daemon``: its help explains every setting, and bad settings exit 2 before starting."""

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
