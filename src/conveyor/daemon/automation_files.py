"""The manifest files an automation run reads and writes, byte for byte.

Only ``.yaml``/``.yml`` files under the configured paths take part; hidden directories (``.git``)
and symlinks are skipped (an edit through a symlink could land outside the tree). Files are read
as bytes and decoded as UTF-8 without newline translation, and written back the same way, so CRLF
line endings and a byte-order mark survive an edit: the core's byte-exact edits stay byte-exact on
disk. A file that is not UTF-8, or a path that does not exist, is reported, never fatal.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from conveyor.core.edits import FileProblem

__all__ = [
    "MANIFEST_SUFFIXES",
    "ManifestFiles",
    "normalize_paths",
    "read_manifest_files",
    "write_manifest_files",
]

MANIFEST_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class ManifestFiles:
    """File texts keyed by their POSIX path relative to the tree, and the files not read."""

    texts: dict[str, str]
    problems: tuple[FileProblem, ...]


def normalize_paths(paths: Sequence[str]) -> tuple[str, ...]:
    """Paths inside the repo as POSIX relative paths (``""`` is the whole repo).

    Raises ``ValueError`` for an absolute path or one that climbs out with ``..``.
    """
    normalized: list[str] = []
    for path in paths:
        pure = PurePosixPath(path.replace("\\", "/"))
        if pure.is_absolute() or ".." in pure.parts:
            raise ValueError(f"path {path!r} must be relative to the repo root, without '..'")
        text = "" if str(pure) == "." else str(pure)
        if text not in normalized:
            normalized.append(text)
    return tuple(normalized) or ("",)


def read_manifest_files(root: Path, paths: Sequence[str]) -> ManifestFiles:
    """Every manifest under ``paths`` (relative to ``root``; see :func:`normalize_paths`)."""
    found: list[str] = []
    problems: list[FileProblem] = []
    for path in normalize_paths(paths):
        start = root / path if path else root
        if start.is_symlink() or not start.exists():
            problems.append(FileProblem(path, "no such file or directory in the repo"))
        elif start.is_file():
            if start.name.endswith(MANIFEST_SUFFIXES):
                found.append(path)
        else:
            found.extend(_walk(root, start))
    texts: dict[str, str] = {}
    for relative in dict.fromkeys(found):
        try:
            texts[relative] = (root / relative).read_bytes().decode("utf-8")
        except UnicodeDecodeError as e:
            problems.append(FileProblem(relative, f"not UTF-8 (byte {e.start}); left alone"))
        except OSError as e:
            problems.append(FileProblem(relative, f"cannot be read: {e.strerror}"))
    return ManifestFiles(texts, tuple(problems))


def write_manifest_files(root: Path, changed: Mapping[str, str]) -> None:
    """Write the changed texts back, encoded exactly as they were read."""
    for relative, text in changed.items():
        (root / relative).write_bytes(text.encode("utf-8"))


def _walk(root: Path, start: Path) -> list[str]:
    found: list[str] = []
    for directory, subdirectories, files in os.walk(start):
        # Sorted and pruned in place: os.walk then visits in a stable order, hidden ones never.
        subdirectories[:] = sorted(d for d in subdirectories if not d.startswith("."))
        here = Path(directory)
        for name in sorted(files):
            candidate = here / name
            if name.endswith(MANIFEST_SUFFIXES) and not candidate.is_symlink():
                found.append(candidate.relative_to(root).as_posix())
    return found
