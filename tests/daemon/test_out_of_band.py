"""The out-of-band pass on the real git server and control plane: ``kubectl set image`` on two
Deployments, one annotated to adopt such changes; the pass then the sync adopt one and revert
the other."""

from pathlib import Path

import pytest

from conveyor.core.commit_message import parse_change_trailers
from conveyor.core.out_of_band import OutOfBandMode
from conveyor.core.release_history import HistoryKind, HistoryResult
from conveyor.core.release_message import parse_operation_kind
from conveyor.daemon.out_of_band import check_out_of_band
from conveyor.daemon.releases_io import Decision, RepoView
from tests.daemon.release_repo import (
    API_IMAGE,
    WEB_IMAGE,
    RepoReader,
    kubectl_set_image,
    live_image,
    release_manager,
    target_fixture,
    write_adopting_seed,
)

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

KUBECTL_WEB = "registry.invalid/app:1.0.1-hotfix"
KUBECTL_API = "registry.invalid/api:2.0.1-hotfix"

target = target_fixture("oob")


@pytest.fixture
def repo(config_repo, tmp_path, target):
    return config_repo(write_adopting_seed(tmp_path / "seed", target))


async def test_adopt_writes_the_live_image_and_revert_lets_the_sync_put_it_back(
    testenv, repo, target, tmp_path: Path, kube
):
    reader = RepoReader(repo.path)
    web_id, api_id = f"{target}:deployment/web", f"{target}:deployment/api"
    async with release_manager(testenv, repo, tmp_path / "state", sync_name=target) as manager:
        await manager.sync()
        seed = reader.head()
        web_before, api_before = reader.file("apps/web.yaml"), reader.file("apps/api.yaml")
        assert await check_out_of_band(manager) == ()  # in step with the repo: nothing to do

        kubectl_set_image(testenv, target, "web", KUBECTL_WEB)
        kubectl_set_image(testenv, target, "api", KUBECTL_API)
        outcomes = {o.workload_id: o for o in await check_out_of_band(manager)}
        await manager.sync()

        assert set(outcomes) == {web_id, api_id}
        adopted, reverted = outcomes[web_id], outcomes[api_id]
        assert adopted.mode is OutOfBandMode.ADOPT and adopted.reported
        assert reverted.mode is OutOfBandMode.REVERT and reverted.commit is None

        # The adopting workload: exactly one commit, a byte-exact edit, marked out-of-band.
        assert reader.revisions()[:2] == [adopted.commit, seed]
        assert reader.file("apps/web.yaml") == web_before.replace(WEB_IMAGE, KUBECTL_WEB)
        assert reader.file("apps/api.yaml") == api_before
        message = reader.message(adopted.commit)
        assert message.splitlines()[0] == (
            f"Adopt out-of-band image change of {web_id}: {WEB_IMAGE} -> {KUBECTL_WEB}"
        )
        assert parse_operation_kind(message) is HistoryKind.OUT_OF_BAND
        assert [
            (c.workload_id, c.old_image, c.new_image) for c in parse_change_trailers(message)
        ] == [(web_id, WEB_IMAGE, KUBECTL_WEB)]
        reader.all_yaml_loads()

        # The cluster: the adopted image keeps running, the other is back on the repo's image.
        assert live_image(kube, target, "web") == KUBECTL_WEB
        assert live_image(kube, target, "api") == API_IMAGE

        [web_entry] = await manager.history(web_id)
        [api_entry] = await manager.history(api_id)
        assert (web_entry.kind, web_entry.commit, web_entry.result) == (
            HistoryKind.OUT_OF_BAND,
            adopted.commit,
            HistoryResult.SUCCEEDED,
        )
        assert [(c.old_image, c.new_image) for c in web_entry.changes] == [(WEB_IMAGE, KUBECTL_WEB)]
        assert api_entry.kind is HistoryKind.OUT_OF_BAND and api_entry.commit == seed
        assert [(c.old_image, c.new_image) for c in api_entry.changes] == [(KUBECTL_API, API_IMAGE)]
        # kubectl names itself in managedFields (kubectl-set, kubectl-edit, ...).
        assert web_entry.user.startswith("kubectl") and api_entry.user.startswith("kubectl")

        # Both settled: the next pass finds nothing and writes nothing.
        head = reader.head()
        assert await check_out_of_band(manager) == ()
        assert reader.head() == head


async def test_a_change_reported_once_is_not_reported_again(
    testenv, repo, target, tmp_path: Path, kube
):
    api_id = f"{target}:deployment/api"
    async with release_manager(testenv, repo, tmp_path / "state", sync_name=target) as manager:
        await manager.sync()
        kubectl_set_image(testenv, target, "api", KUBECTL_API)
        [first] = await check_out_of_band(manager)
        [again] = await check_out_of_band(manager)  # no sync in between: still drifted

        assert first.workload_id == again.workload_id == api_id
        assert first.reported and not again.reported
        assert len(await manager.history(api_id)) == 1


async def test_a_commit_not_yet_applied_is_not_out_of_band(
    testenv, repo, target, tmp_path: Path, kube
):
    reader = RepoReader(repo.path)
    async with release_manager(testenv, repo, tmp_path / "state", sync_name=target) as manager:
        await manager.sync()
        newer = "registry.invalid/api:2.1.0"
        api = reader.file("apps/api.yaml")

        def decide(view: RepoView) -> Decision:
            return Decision({"apps/api.yaml": api.replace(API_IMAGE, newer)}, (), "Bump api\n")

        written, _ = await manager.write(decide)
        assert written.committed
        # The repo is ahead of the cluster, whose image conveyor itself applied: no report.
        assert await check_out_of_band(manager) == ()
        assert live_image(kube, target, "api") == API_IMAGE
        assert await manager.history() == []
