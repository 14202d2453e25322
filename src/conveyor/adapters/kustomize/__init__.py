"""The kustomize adapter: runs the ``kustomize`` program to build a kustomization directory.

Errors::

    KustomizeError          anything from this adapter
    ├── KustomizeMissing    no kustomize binary found (pass one, set CONVEYOR_KUSTOMIZE, or PATH)
    └── BuildFailed         kustomize ran and failed; .stderr holds its explanation

The binary is, in order: the one passed in, ``$CONVEYOR_KUSTOMIZE``, ``$CONVEYOR_K8S_BIN/kustomize``
(where ``scripts/build-k8s`` puts it), then ``kustomize`` on PATH.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


class KustomizeError(Exception):
    """Anything that went wrong building a kustomization."""


class KustomizeMissing(KustomizeError):
    """No kustomize binary could be found."""


class BuildFailed(KustomizeError):
    def __init__(self, message: str, *, stderr: str) -> None:
        super().__init__(message)
        self.stderr = stderr


def is_kustomization(directory: Path) -> bool:
    return any((directory / name).is_file() for name in KUSTOMIZATION_FILES)


def find_kustomize(explicit: Path | None = None) -> Path:
    candidates: list[Path] = []
    if explicit is not None:
        candidates.append(explicit)
    if os.environ.get("CONVEYOR_KUSTOMIZE"):
        candidates.append(Path(os.environ["CONVEYOR_KUSTOMIZE"]))
    if os.environ.get("CONVEYOR_K8S_BIN"):
        candidates.append(Path(os.environ["CONVEYOR_K8S_BIN"]) / "kustomize")
    on_path = shutil.which("kustomize")
    if on_path:
        candidates.append(Path(on_path))
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise KustomizeMissing(
        "no kustomize binary: pass --kustomize, set CONVEYOR_KUSTOMIZE, or put kustomize on PATH"
        " (`scripts/build-k8s` builds one into its bin directory)"
    )


async def build(directory: Path, *, binary: Path | None = None, timeout: float = 120.0) -> str:
    """``kustomize build DIRECTORY``: the rendered multi-document YAML."""
    program = find_kustomize(binary)
    # A clean environment: only what kustomize needs to find its home and temp dirs.
    env = {key: os.environ[key] for key in ("HOME", "PATH", "TMPDIR") if key in os.environ}
    process = await asyncio.create_subprocess_exec(
        str(program),
        "build",
        str(directory),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError as e:
        process.kill()
        await process.wait()
        raise BuildFailed(
            f"kustomize build {directory} took longer than {timeout:.0f} s", stderr=""
        ) from e
    if process.returncode != 0:
        message = stderr.decode(errors="replace").strip()
        raise BuildFailed(f"kustomize build failed: {message}", stderr=message)
    return stdout.decode()
