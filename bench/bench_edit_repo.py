"""Benchmark: change one image across a config repo of 10,000 YAML files (200 of them use it).

conveyor reads every file, edits in memory (a substring check skips files without the
repository before any parsing) and writes back the changed files. The peer is a ruamel.yaml
round-trip rewrite (load, change, dump) of the same 200 files, told which files they are. Both
run in the same process on the same generated repository; each timing is the median of a few
runs, with the files restored (untimed) before every run. Needs no services:

    .venv/bin/python bench/bench_edit_repo.py

Prints one line. "Bytes outside the edits" compares each output with the original in which only
the image string was replaced: anything else that differs was mangled.
"""

from __future__ import annotations

import difflib
import io
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ruamel.yaml import YAML

from conveyor.core.edits import ImageUpdate, apply_image_updates

TOTAL_FILES = 10_000
TARGET_FILES = 200
LOOKALIKE_FILES = 50  # contain the repository as a substring of another repository's name
RUNS = 3
REPOSITORY = "ghcr.io/acme/checkout"
OLD_IMAGE = f"{REPOSITORY}:1.4.2"
NEW_TAG = "1.5.0"
NEW_IMAGE = f"{REPOSITORY}:{NEW_TAG}"

# Hand-written manifests look like this: comments, blank lines, flush sequences, quoted and
# flow values, a long annotation line, document markers.
TEMPLATE = """# {name}: owned by team {team}
# Changes go through conveyor; edit by hand only when it is locked.
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: team-{team}
  labels: {{app: {name}, tier: backend}}
  annotations:
    conveyor.dev/automated: "true"
    description: "{description}"
spec:
  replicas: 3
  selector:
    matchLabels:
      app: {name}
  template:
    metadata:
      labels:
        app: {name}
    spec:
      containers:
      - name: app
        image: {image}   # moved by conveyor
        args: [ "--port", "8080", "--log-format=json" ]
        ports:
        - containerPort: 8080

        resources:
          limits: {{cpu: 500m, memory: 256Mi}}
      - name: proxy
        image: 'envoyproxy/envoy:v1.29.0'
...
---
apiVersion: v1
kind: Service
metadata:
  name: {name}
  namespace: team-{team}
spec:
  selector: {{app: {name}}}
  ports:
  - port: 80
    targetPort: 8080
"""


def generate(root: Path) -> dict[str, str]:
    """Write the repository; return path -> text of the files that use the image."""
    targets: dict[str, str] = {}
    for i in range(TOTAL_FILES):
        if i % (TOTAL_FILES // TARGET_FILES) == 0:
            image = OLD_IMAGE
        elif i % (TOTAL_FILES // LOOKALIKE_FILES) == 1:
            image = f"{REPOSITORY}-worker:1.4.2"
        else:
            image = f"ghcr.io/acme/service-{i}:1.0.{i % 7}"
        rel = f"apps/team-{i % 100:02d}/service-{i}.yaml"
        name, team = f"service-{i}", f"{i % 100:02d}"
        description = f"{name} serves the {team} API behind the shared ingress; see the runbook"
        text = TEMPLATE.format(name=name, team=team, image=image, description=description)
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode())
        if image == OLD_IMAGE:
            targets[rel] = text
    return targets


def conveyor_edit(root: Path) -> dict[str, str]:
    files = {
        path.relative_to(root).as_posix(): path.read_bytes().decode()
        for path in root.rglob("*.yaml")
    }
    result = apply_image_updates(files, [ImageUpdate(REPOSITORY, NEW_TAG)])
    for rel, text in result.changed_files.items():
        (root / rel).write_bytes(text.encode())
    return dict(result.changed_files)


def ruamel_edit(root: Path, targets: list[str]) -> dict[str, str]:
    yaml = YAML()  # round-trip mode, the one meant for editing files
    yaml.preserve_quotes = True
    written = {}
    for rel in targets:
        path = root / rel
        documents = list(yaml.load_all(path.read_bytes().decode()))
        for document in documents:
            spec = document.get("spec", {}).get("template", {}).get("spec", {})
            for container in spec.get("containers", []):
                if container["image"].startswith(REPOSITORY + ":"):
                    container["image"] = NEW_IMAGE
        buffer = io.StringIO()
        yaml.dump_all(documents, buffer)
        written[rel] = buffer.getvalue()
        path.write_bytes(written[rel].encode())
    return written


def bytes_changed_outside_edits(originals: dict[str, str], outputs: dict[str, str]) -> int:
    total = 0
    for rel, original in originals.items():
        wanted = original.replace(OLD_IMAGE, NEW_IMAGE).encode()
        produced = outputs.get(rel, original).encode()
        matcher = difflib.SequenceMatcher(None, wanted, produced, autojunk=False)
        total += sum(
            max(i2 - i1, j2 - j1) for op, i1, i2, j1, j2 in matcher.get_opcodes() if op != "equal"
        )
    return total


def timed_runs(
    edit: Callable[[], dict[str, str]], restore: Callable[[], None]
) -> tuple[float, dict[str, str]]:
    times, first_output = [], None
    for _ in range(RUNS):
        restore()
        started = time.perf_counter()
        output = edit()
        times.append(time.perf_counter() - started)
        first_output = first_output if first_output is not None else output
    assert first_output is not None
    return statistics.median(times), first_output


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-edit-repo-") as tmp:
        root = Path(tmp)
        targets = generate(root)

        def restore() -> None:
            for rel, text in targets.items():
                (root / rel).write_bytes(text.encode())

        conveyor_time, conveyor_out = timed_runs(lambda: conveyor_edit(root), restore)
        ruamel_time, ruamel_out = timed_runs(lambda: ruamel_edit(root, sorted(targets)), restore)
    if set(conveyor_out) != set(targets):
        raise SystemExit(f"conveyor changed {len(conveyor_out)} files, expected {len(targets)}")
    print(
        f"bench edit-repo: conveyor {conveyor_time:.3f} s for {TOTAL_FILES} files "
        f"({len(conveyor_out)} changed); ruamel round-trip {ruamel_time:.3f} s; "
        f"ratio {ruamel_time / conveyor_time:.1f}x; bytes outside the edits changed: "
        f"conveyor {bytes_changed_outside_edits(targets, conveyor_out)}, "
        f"ruamel {bytes_changed_outside_edits(targets, ruamel_out)}"
    )


if __name__ == "__main__":
    main()
