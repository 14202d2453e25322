from typer.testing import CliRunner

from conveyor import __version__
from conveyor.cli.main import app


def test_version_prints_the_package_version():
    result = CliRunner().invoke(app, ["version"])
    assert result.exit_code == 0
    assert result.output.startswith(f"conveyor {__version__} ")


def test_help_lists_commands():
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "version" in result.output
