"""Flux v1-annotated and Flux v2-marked example repos, updated by a real automation run.

Each example under ``examples/`` is seeded into a fresh repo on the git server, the tags are
pushed to the real registry, one run is made, and every file of the new head must equal
``expected/`` byte for byte (CRLF included), with no other file added or removed.
"""

import datetime as dt
from pathlib import Path

import pytest

from conveyor.core.config import AutomationConfig, parse_config_text
from conveyor.core.plan import Outcome
from conveyor.daemon.jobs import RepoJobQueues
from conveyor.testing.gitserver import git

from .automation_repo import EXAMPLES, Automation, file_at, revisions, ssh_target, write_tree

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

DAY = dt.timedelta(days=1)
BUILT = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)


def example_files(directory: Path, placeholders: dict[str, str]) -> dict[str, bytes]:
    files = {}
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            text = path.read_bytes().decode()
            for name, value in placeholders.items():
                text = text.replace("${" + name + "}", value)
            files[path.relative_to(directory).as_posix()] = text.encode()
    return files


async def run_example(testenv, tmp_path, config_repo, name, placeholders, config):
    original = example_files(EXAMPLES / name / "original", placeholders)
    repo = config_repo(write_tree(tmp_path / "seed", {k: v.decode() for k, v in original.items()}))
    seeded = revisions(repo.path)
    async with RepoJobQueues() as queues:
        result = await Automation(tmp_path / "state", queues).run(ssh_target(testenv, repo), config)
    assert revisions(repo.path)[1:] == seeded, "one commit on top of the seed"
    tree = git("--git-dir", str(repo.path), "ls-tree", "-r", "--name-only", result.revision)
    expected = example_files(EXAMPLES / name / "expected", placeholders)
    assert sorted(tree.split()) == sorted(expected)
    for path, content in expected.items():
        assert file_at(repo.path, result.revision, path) == content, path
    return result


async def test_flux_v1_annotations_are_honoured_unchanged(
    testenv, tmp_path, config_repo, pusher, registry_repo
):
    anonymous = testenv.registries["anonymous"].host
    p = pusher("anonymous")
    # The glob policy ranks by build time (as Flux v1 did): 1.2.4 is the newest 1.2.* build.
    for offset, tag in enumerate(["1.2.3", "1.2.4", "1.3.0"]):
        p.push_image(registry_repo, tag, created=BUILT + offset * DAY)
    image = f"{anonymous}/{registry_repo}"
    result = await run_example(
        testenv,
        tmp_path,
        config_repo,
        "flux-v1",
        {"IMAGE": image},
        AutomationConfig().with_insecure_hosts([anonymous]),
    )
    assert {d.subject: d.outcome for d in result.plan.decisions} == {
        "apps:deployment/podinfo container app": Outcome.UPDATE,
        "apps:deployment/podinfo container sidecar": Outcome.NO_POLICY,
        "apps:deployment/podinfo-canary container app": Outcome.LOCKED,
        "apps:cronjob/report container report": Outcome.UPDATE,
    }
    canary = next(d for d in result.plan.decisions if d.outcome is Outcome.LOCKED)
    assert "investigating a leak" in canary.reason
    assert result.complete


async def test_flux_v2_setter_markers_with_policies_from_the_config(
    testenv, tmp_path, config_repo, pusher, registry_repo
):
    anonymous = testenv.registries["anonymous"].host
    builds_repo = f"{registry_repo}-builds"
    p = pusher("anonymous")
    for tag in ("1.2.3", "1.2.4", "1.3.0"):
        p.push_image(registry_repo, tag)
    for tag in ("main-0a1b2c3-100", "main-9f8e7d6-250", "main-1111111-99", "latest"):
        p.push_image(builds_repo, tag)
    placeholders = {
        "IMAGE": f"{anonymous}/{registry_repo}",
        "BUILDS": f"{anonymous}/{builds_repo}",
    }
    config_text = example_files(EXAMPLES / "flux-v2", placeholders)["config.yaml"].decode()
    config = parse_config_text(config_text).with_insecure_hosts([anonymous])
    result = await run_example(testenv, tmp_path, config_repo, "flux-v2", placeholders, config)
    updated = sorted((d.target.path, d.target.field, d.new_tag) for d in result.plan.updating)
    assert updated == [
        ("apps/deployment.yaml", "image", "1.2.4"),
        ("apps/kustomization.yaml", "tag", "1.2.4"),
        ("charts/shop/values.yaml", "tag", "main-9f8e7d6-250"),
    ]
    assert {c.setter_policy for c in result.changes} >= {"flux-system:app", "flux-system:worker"}
    assert result.complete
