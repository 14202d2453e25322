"""Small config repos (path -> text) for the release planning tests."""

from __future__ import annotations

from conveyor.core.release import LocatedWorkload, read_workloads


def deployment(
    name: str,
    *,
    namespace: str = "shop",
    images: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
) -> str:
    images = images or {"app": f"registry.invalid/{name}:1.0.0"}
    lines = [
        "apiVersion: apps/v1",
        "kind: Deployment",
        "metadata:",
        f"  name: {name}",
        f"  namespace: {namespace}",
    ]
    if annotations:
        lines.append("  annotations:")
        lines += [f'    {key}: "{value}"' for key, value in annotations.items()]
    lines += ["spec:", "  template:", "    spec:", "      containers:"]
    for container, image in images.items():
        lines += [f"        - name: {container}", f"          image: {image}  # pinned by CI"]
    return "\n".join(lines) + "\n"


def workloads_of(files: dict[str, str]) -> tuple[LocatedWorkload, ...]:
    found, problems = read_workloads(files)
    assert problems == ()
    return found


def one(files: dict[str, str], workload_id: str) -> LocatedWorkload:
    return next(w for w in workloads_of(files) if w.id == workload_id)
