"""The ``conveyor`` console script.

This module decides exit codes: commands raise, ``run`` turns errors into a message and a status.
"""

from __future__ import annotations

import platform

import typer

from conveyor import __version__
from conveyor.cli import daemon as daemon_commands
from conveyor.cli import images as image_commands
from conveyor.cli import sync as sync_commands
from conveyor.cli import verbs as api_verbs

app = typer.Typer(
    name="conveyor",
    help="conveyor: a GitOps release manager for Kubernetes.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def main() -> None:
    """Release images into Kubernetes through a config repo, and roll them back without rebuilds."""


@app.command()
def version() -> None:
    """Print conveyor's version and the Python it runs on."""
    typer.echo(f"conveyor {__version__} (python {platform.python_version()})")


sync_commands.register(app)
image_commands.register(app)
daemon_commands.register(app)
api_verbs.register(app)


def run() -> None:
    """Entry point of the ``conveyor`` console script."""
    app()
