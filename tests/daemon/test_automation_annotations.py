"""Exclude and min-age annotations on the real registry and git server.

Build times come from the images' config blobs (the pusher sets ``created``), so this also checks
that a minimum age makes the scan fetch image metadata.
"""

import datetime as dt

import pytest

from conveyor.core.config import AutomationConfig
from conveyor.core.plan import Outcome
from conveyor.core.plan_explain import explain_plan
from conveyor.core.policy import Reason
from conveyor.daemon.jobs import RepoJobQueues

from .automation_repo import (
    Automation,
    changed_lines,
    deployment,
    revisions,
    ssh_target,
    write_tree,
)

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

RULES = {
    "conveyor.dev/automated": "true",
    "conveyor.dev/tag.app": "semver:~1.0",
    "conveyor.dev/exclude.app": "*-rc*",
    "conveyor.dev/min-age.app": "1h",
}


async def test_the_old_enough_release_is_committed_and_the_others_are_explained(
    testenv, tmp_path, config_repo, registry_repo, pusher
):
    anonymous = testenv.registries["anonymous"].host
    p = pusher("anonymous")
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=3)
    p.push_image(registry_repo, "1.0.0", created=long_ago - dt.timedelta(days=30))
    p.push_image(registry_repo, "1.0.1", created=long_ago)
    p.push_image(registry_repo, "1.0.2")  # created now: too young for 1h
    p.push_image(registry_repo, "1.0.3-rc1", created=long_ago)
    image = f"{anonymous}/{registry_repo}"
    repo = config_repo(
        write_tree(
            tmp_path / "seed", {"apps/web.yaml": deployment("web", f"{image}:1.0.0", **RULES)}
        )
    )
    seeded = revisions(repo.path)

    async with RepoJobQueues() as queues:
        result = await Automation(tmp_path / "state", queues).run(
            ssh_target(testenv, repo, "apps"), AutomationConfig().with_insecure_hosts([anonymous])
        )

    history = revisions(repo.path)
    assert history[1:] == seeded and result.committed
    assert changed_lines(repo.path, seeded[0], history[0]) == [
        f"-          image: {image}:1.0.0  # released by conveyor",
        f"+          image: {image}:1.0.1  # released by conveyor",
    ]
    (decision,) = result.plan.decisions
    assert (decision.outcome, decision.new_tag) == (Outcome.UPDATE, "1.0.1")
    assert decision.selection is not None
    young = decision.selection.verdict("1.0.2")
    rc = decision.selection.verdict("1.0.3-rc1")
    assert young is not None and young.reason is Reason.TOO_YOUNG
    assert rc is not None and rc.reason is Reason.EXCLUDED
    explained = explain_plan(result.plan)
    assert any(
        line.strip().startswith("1.0.2: too young (built ")
        and line.endswith("ago, minimum age 1h from conveyor.dev/min-age.app)")
        for line in explained
    ), explained
    assert f"{' ' * 4}1.0.3-rc1: excluded by glob *-rc* (conveyor.dev/exclude.app)" in explained
