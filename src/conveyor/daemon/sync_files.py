"""Read the manifests of a checked-out tree: the file I/O half of loading.

Every ``.yaml``/``.yml`` file under the synced paths is read as text; a directory holding a
``kustomization.yaml`` is built with kustomize instead (and not walked further), its output named
``<dir> (kustomize build)``. Hidden directories (``.git``...) are skipped. Problems (a file that
is not UTF-8, a kustomize build that fails, a path that does not exist) are reported, not raised,
so the rest of the repo still syncs.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path

from conveyor.adapters import kustomize
from conveyor.core.sync.loading import is_manifest_file
from conveyor.core.sync.objects import LoadProblem, Source


@dataclass(frozen=True)
class ManifestTexts:
    """File texts keyed by their path relative to the tree, and the files that failed."""

    texts: dict[str, str]
    problems: tuple[LoadProblem, ...]


def kustomize_output_name(relative_dir: str) -> str:
    return f"{relative_dir} (kustomize build)"


async def read_manifest_texts(
    root: Path, paths: tuple[str, ...], *, kustomize_binary: Path | None = None
) -> ManifestTexts:
    """Read every manifest under ``paths`` (relative to ``root``)."""
    files, kustomizations, problems = await asyncio.to_thread(_walk, root, paths)
    texts: dict[str, str] = {}
    for relative, text in zip(files, await asyncio.to_thread(_read_all, root, files), strict=True):
        if isinstance(text, LoadProblem):
            problems.append(text)
        else:
            texts[relative] = text
    for relative in kustomizations:
        try:
            output = await kustomize.build(root / relative, binary=kustomize_binary)
        except kustomize.KustomizeError as e:
            problems.append(LoadProblem(Source(relative, 0), str(e)))
            continue
        texts[kustomize_output_name(relative)] = output
    return ManifestTexts(texts, tuple(problems))


def _walk(root: Path, paths: tuple[str, ...]) -> tuple[list[str], list[str], list[LoadProblem]]:
    files: list[str] = []
    kustomizations: list[str] = []
    problems: list[LoadProblem] = []
    resolved_root = root.resolve()
    for path in paths or (".",):
        start = (root / path).resolve()
        if not start.is_relative_to(resolved_root):
            problems.append(LoadProblem(Source(path, 0), "path leaves the repository; skipped"))
            continue
        if start.is_file():
            files.append(_relative(start, resolved_root))
            continue
        if not start.is_dir():
            problems.append(LoadProblem(Source(path, 0), "no such file or directory in the repo"))
            continue
        for directory, subdirs, names in os.walk(start):
            here = Path(directory)
            if kustomize.is_kustomization(here):
                kustomizations.append(_relative(here, resolved_root))
                subdirs.clear()  # kustomize reads what it needs below here
                continue
            subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
            files += [
                _relative(here / n, resolved_root) for n in sorted(names) if is_manifest_file(n)
            ]
    return sorted(set(files)), sorted(set(kustomizations)), problems


def _relative(path: Path, root: Path) -> str:
    relative = path.relative_to(root).as_posix()
    return relative or "."


def _read_all(root: Path, files: list[str]) -> list[str | LoadProblem]:
    texts: list[str | LoadProblem] = []
    for relative in files:
        try:
            texts.append((root / relative).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as e:
            texts.append(LoadProblem(Source(relative, 0), f"cannot read the file: {e}"))
    return texts
