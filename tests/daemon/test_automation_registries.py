"""Automation against every kind of registry: token and basic auth, throttling, a broken one."""

import base64
import json

import pytest

from conveyor.adapters.registry import RetryPolicy
from conveyor.core.config import parse_config_text
from conveyor.core.plan import Outcome
from conveyor.daemon.jobs import RepoJobQueues
from conveyor.testing.procs import free_port
from conveyor.testing.throttle import ThrottleProxy

from .automation_repo import (
    Automation,
    changed_lines,
    deployment,
    file_at,
    revisions,
    ssh_target,
    write_tree,
)

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

CARET_1 = {"conveyor.dev/automated": "true", "conveyor.dev/tag.app": "semver:^1.0"}


def seed_workloads(tmp_path, config_repo, images: dict[str, str]):
    """One file per workload, each on ``IMAGE:1.0.0`` under ``semver:^1.0``."""
    files = {
        f"apps/{name}.yaml": deployment(name, f"{image}:1.0.0", **CARET_1)
        for name, image in images.items()
    }
    return config_repo(write_tree(tmp_path / "seed", files))


def docker_config(path, *endpoints):
    auths = {
        endpoint.host: {
            "auth": base64.b64encode(f"{endpoint.user}:{endpoint.password}".encode()).decode()
        }
        for endpoint in endpoints
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"auths": auths}))
    return path


async def test_token_and_basic_auth_registries_with_a_docker_config_file(
    testenv, tmp_path, config_repo, pusher, registry_repo
):
    basic, token = testenv.registries["basic"], testenv.registries["token"]
    for name in ("basic", "token"):
        p = pusher(name)
        p.push_image(registry_repo, "1.0.0")
        p.push_image(registry_repo, "1.0.1")
    repo = seed_workloads(
        tmp_path,
        config_repo,
        {"api": f"{basic.host}/{registry_repo}", "worker": f"{token.host}/{registry_repo}"},
    )
    credentials = docker_config(tmp_path / "docker" / "config.json", basic, token)
    # The basic registry's own docker config answers only for it; the token registry's
    # credentials come from the config-wide docker config.
    config = parse_config_text(
        f"registries:\n"
        f"  - host: {basic.host}\n"
        f"    insecure: true\n"
        f"    credentials: {{dockerConfig: {credentials}}}\n"
        f"  - host: {token.host}\n"
        f"    insecure: true\n"
        f"dockerConfigs: [{credentials}]\n"
    )
    seeded = revisions(repo.path)
    async with RepoJobQueues() as queues:
        result = await Automation(tmp_path / "state", queues).run(ssh_target(testenv, repo), config)
    assert result.complete, result.scan_errors
    assert revisions(repo.path)[1:] == seeded
    assert sorted((c.workload_id, c.new_image) for c in result.changes) == [
        ("shop:deployment/api", f"{basic.host}/{registry_repo}:1.0.1"),
        ("shop:deployment/worker", f"{token.host}/{registry_repo}:1.0.1"),
    ]


async def test_registry_credentials_from_environment_variables_named_in_the_config(
    testenv, tmp_path, config_repo, pusher, registry_repo
):
    basic = testenv.registries["basic"]
    p = pusher("basic")
    p.push_image(registry_repo, "1.0.0")
    p.push_image(registry_repo, "1.0.1")
    repo = seed_workloads(tmp_path, config_repo, {"api": f"{basic.host}/{registry_repo}"})
    config = parse_config_text(
        f"registries:\n"
        f"  - host: {basic.host}\n"
        f"    insecure: true\n"
        f"    credentials: {{usernameEnv: REG_USER, passwordEnv: REG_PASSWORD}}\n"
    )
    environ = {"REG_USER": basic.user, "REG_PASSWORD": basic.password}
    async with RepoJobQueues() as queues:
        result = await Automation(tmp_path / "state", queues).run(
            ssh_target(testenv, repo), config, environ=environ
        )
    assert result.committed and result.complete
    assert [c.new_image for c in result.changes] == [f"{basic.host}/{registry_repo}:1.0.1"]


async def test_a_registry_answering_429_is_waited_for_and_the_run_still_succeeds(
    testenv, tmp_path, config_repo, pusher, registry_repo
):
    p = pusher("anonymous")
    p.push_image(registry_repo, "1.0.0")
    p.push_image(registry_repo, "1.0.1")
    with ThrottleProxy(testenv.registries["anonymous"].url, retry_after="1") as proxy:
        repo = seed_workloads(tmp_path, config_repo, {"api": f"{proxy.host}/{registry_repo}"})
        config = parse_config_text(f"registries: [{{host: '{proxy.host}', insecure: true}}]")
        proxy.throttle_next(1)
        async with RepoJobQueues() as queues:
            result = await Automation(tmp_path / "state", queues).run(
                ssh_target(testenv, repo), config
            )
        refused, *later = proxy.arrivals
    assert result.committed and result.complete
    assert [c.new_image for c in result.changes] == [f"{proxy.host}/{registry_repo}:1.0.1"]
    assert refused.status == 429
    assert later, "the client came back after the pause"
    # Protocol check, not a timing benchmark: nothing was sent before Retry-After allowed it.
    assert all(arrival.at - refused.at >= 1.0 for arrival in later)


async def test_a_broken_registry_does_not_stop_the_others_from_updating(
    testenv, tmp_path, config_repo, pusher, registry_repo
):
    anonymous = testenv.registries["anonymous"].host
    p = pusher("anonymous")
    p.push_image(registry_repo, "1.0.0")
    p.push_image(registry_repo, "1.0.1")
    closed = f"127.0.0.1:{free_port()}"
    repo = seed_workloads(
        tmp_path,
        config_repo,
        {"api": f"{closed}/team/api", "web": f"{anonymous}/{registry_repo}"},
    )
    config = parse_config_text(
        f"registries:\n"
        f"  - {{host: '{closed}', insecure: true}}\n"
        f"  - {{host: '{anonymous}', insecure: true}}\n"
    )
    seeded = revisions(repo.path)
    async with RepoJobQueues() as queues:
        result = await Automation(tmp_path / "state", queues).run(
            ssh_target(testenv, repo),
            config,
            retry=RetryPolicy(max_attempts=2, base_delay=0.1),
        )
    assert list(result.scan_errors) == [f"{closed}/team/api"]
    assert closed in result.scan_errors[f"{closed}/team/api"]
    assert not result.complete
    assert result.committed and revisions(repo.path)[1:] == seeded
    assert [c.workload_id for c in result.changes] == ["shop:deployment/web"]
    assert changed_lines(repo.path, seeded[0], result.revision) == [
        f"-          image: {anonymous}/{registry_repo}:1.0.0  # released by conveyor",
        f"+          image: {anonymous}/{registry_repo}:1.0.1  # released by conveyor",
    ]
    broken = next(d for d in result.plan.decisions if d.subject.startswith("shop:deployment/api"))
    assert broken.outcome is Outcome.NO_TAGS
    assert "its scan failed" in broken.reason
    assert file_at(repo.path, result.revision, "apps/api.yaml").decode().count(":1.0.0") == 1
