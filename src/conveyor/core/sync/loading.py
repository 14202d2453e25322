"""Turn the texts of manifest files into manifests, reporting (not raising on) what is not one.

The input is a mapping of path -> text: reading the files is the caller's job. A file holds any
number of ``---`` separated YAML documents; a document may be a ``kind: List`` whose ``items`` are
objects. Empty documents are skipped silently; anything else that is not a Kubernetes object (no
``apiVersion``, ``kind`` or ``metadata.name``) is reported with its file and document index, as is
a file that is not valid YAML. Objects annotated ``conveyor.dev/ignore: "true"`` (or Flux v1's
``fluxcd.io/ignore``) are set aside, not applied.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from conveyor.core.sync.objects import (
    IGNORE_ANNOTATIONS,
    LoadProblem,
    Manifest,
    ObjectRef,
    Source,
    ref_of,
)

MANIFEST_SUFFIXES = (".yaml", ".yml")

# libyaml's loader is several times faster on large repos; fall back when it is not compiled in.
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class LoadResult:
    """Everything found in a set of files."""

    manifests: tuple[Manifest, ...]
    problems: tuple[LoadProblem, ...]
    ignored: tuple[ObjectRef, ...]


def is_manifest_file(path: str) -> bool:
    return path.endswith(MANIFEST_SUFFIXES)


def load_manifests(texts: Mapping[str, str]) -> LoadResult:
    """Parse every file in ``texts`` (in path order, so results are stable)."""
    manifests: list[Manifest] = []
    problems: list[LoadProblem] = []
    ignored: list[ObjectRef] = []
    seen: dict[ObjectRef, Source] = {}
    for path in sorted(texts):
        for source, body, problem in _documents(path, texts[path]):
            if problem is not None:
                problems.append(LoadProblem(source, problem))
                continue
            for item, item_problem in _objects(body):
                if item_problem is not None:
                    problems.append(LoadProblem(source, item_problem))
                    continue
                ref = ref_of(item)
                if _is_ignored(item):
                    ignored.append(ref)
                    continue
                if ref in seen:
                    problems.append(
                        LoadProblem(source, f"{ref} is already defined in {seen[ref]}; skipped")
                    )
                    continue
                seen[ref] = source
                manifests.append(Manifest(ref=ref, body=item, source=source))
    return LoadResult(tuple(manifests), tuple(problems), tuple(ignored))


def _documents(path: str, text: str) -> Iterator[tuple[Source, Any, str | None]]:
    parsed = 0
    try:
        for document in yaml.load_all(text, Loader=_Loader):
            yield Source(path, parsed), document, None
            parsed += 1
    except yaml.YAMLError as e:
        # The parser stops at the first broken document; the ones before it are kept.
        yield Source(path, parsed), None, f"not valid YAML: {_yaml_reason(e)}"


def _yaml_reason(error: yaml.YAMLError) -> str:
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    mark = getattr(error, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return f"{problem}{where}"


def _objects(document: Any) -> Iterator[tuple[dict[str, Any], str | None]]:
    if document is None:
        return
    if not isinstance(document, dict):
        yield {}, f"not a Kubernetes object: a YAML {type(document).__name__}, not a mapping"
        return
    kind = document.get("kind")
    if isinstance(kind, str) and kind.endswith("List") and "items" in document:
        for position, item in enumerate(document.get("items") or []):
            for found, problem in _objects(item):
                yield found, (f"item {position} of the {kind}: {problem}" if problem else None)
        return
    problem = _missing_identity(document)
    yield document, problem


def _missing_identity(body: dict[str, Any]) -> str | None:
    missing = [key for key in ("apiVersion", "kind") if not isinstance(body.get(key), str)]
    metadata = body.get("metadata")
    if not isinstance(metadata, dict) or not isinstance(metadata.get("name"), str):
        missing.append("metadata.name")
    if not missing:
        return None
    return f"not a Kubernetes object: missing {', '.join(missing)}"


def _is_ignored(body: dict[str, Any]) -> bool:
    annotations = (body.get("metadata") or {}).get("annotations") or {}
    return any(str(annotations.get(key, "")).lower() == "true" for key in IGNORE_ANNOTATIONS)
