"""``python -m conveyor.testing up|down|status``: the test environment for humans and scripts."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from conveyor.testing import env as testenv
from conveyor.testing.errors import TestEnvError


def default_dir() -> Path:
    configured = os.environ.get("CONVEYOR_TESTENV_DIR")
    if configured:
        return Path(configured)
    return Path(tempfile.gettempdir()) / f"conveyor-testenv-{os.getuid()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="testenv",
        description="Real services on loopback for conveyor's tests and demo: a Kubernetes control "
        "plane (etcd, apiserver, controller-manager, scheduler, kwok), three OCI registries "
        "(anonymous, basic, token) and git over SSH and HTTP.",
    )
    parser.add_argument("command", choices=["up", "down", "status"])
    parser.add_argument(
        "--dir", type=Path, default=default_dir(), help="work directory (default: %(default)s)"
    )
    parser.add_argument(
        "--nodes", type=int, default=2, help="number of kwok nodes (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    workdir: Path = args.dir.resolve()
    try:
        if args.command == "up":
            print(f"testenv: starting services in {workdir} ...", flush=True)
            env = testenv.up(workdir, nodes=args.nodes)
            print("\n".join(testenv.describe(env)))
            print(f"testenv: up in {env.startup_seconds:.1f}s (state: {env.state_file})")
        elif args.command == "down":
            stopped = testenv.down(workdir)
            print(f"testenv: stopped {len(stopped)} services; removed {workdir}")
        else:
            env = testenv.load(workdir)
            for service in env.services:
                state = "running" if service.alive() else "STOPPED"
                print(f"{service.name:<24} pid {service.pid:<8} {state}  log {service.log}")
            print("\n".join(testenv.describe(env)))
            if not all(s.alive() for s in env.services):
                return 1
    except TestEnvError as e:
        print(f"testenv: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
