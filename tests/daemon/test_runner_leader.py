"""Two ``conveyor daemon --leader-election`` processes on one config repo and one sync name.

Against the real git server and control plane: exactly one becomes the leader (the Lease, the
``conveyor_leader`` gauge and ``/readyz`` agree on which), only it syncs (the follower counts no
sync pass), and a write to the follower gets 503 naming the leader. After SIGTERM to the leader
(which releases the Lease on its way out) the follower takes over and applies a commit the old
leader never synced. Intervals are 300 s, so only the takeover can explain that sync.
"""

import re

import httpx
import pytest

from .automation_repo import write_tree
from .daemon_process import DaemonProcess, daemon_argv
from .git_commits import WorkClone
from .polling import wait_until
from .sync_repo import configmap, dump

pytestmark = pytest.mark.integration

TOKEN = "leader-test-api-token-0123"
LEASE = "conveyor-leader-replicas"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class Replica(DaemonProcess):
    """One daemon process, its log, and its API."""

    def __init__(self, identity, argv, log_path):
        super().__init__([*argv, "--leader-election-identity", identity], log_path, name=identity)
        self.identity = identity
        self.wait_until_serving()

    def readiness(self):
        return httpx.get(f"{self.url}/readyz")

    def metric(self, name, labels=""):
        """A sample of this process's /metrics (None when the series does not exist)."""
        text = httpx.get(f"{self.url}/metrics", headers=AUTH).text
        found = re.search(rf"^{re.escape(name + labels)} (\S+)$", text, re.MULTILINE)
        return float(found.group(1)) if found else None

    def syncs(self):
        return self.metric("conveyor_syncs_total", '{outcome="succeeded"}') or 0.0


def lease_holder(kube, namespace):
    path = f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/{LEASE}"
    response = kube.get(path)
    return response.json()["spec"].get("holderIdentity") if response.is_success else None


def applied_data(kube, namespace):
    response = kube.get(f"/api/v1/namespaces/{namespace}/configmaps/settings")
    return response.json().get("data") if response.is_success else None


@pytest.fixture
def replicas(testenv, tmp_path, config_repo, namespace):
    seed = {"apps/settings.yaml": dump(configmap("settings", namespace, version="1"))}
    repo = config_repo(write_tree(tmp_path / "seed", seed))
    token_file = tmp_path / "api-token"
    token_file.write_text(TOKEN + "\n")
    started = []

    def start(identity):
        given = {
            "repo": repo.ssh_url,
            "ssh-key": testenv.git.deploy_key,
            "known-hosts": testenv.git.known_hosts,
            "kubeconfig": testenv.cluster.kubeconfig,
            "state-dir": tmp_path / identity,
            "sync-name": namespace,
            "sync-interval": "300s",
            "health-timeout": "30s",
            "listen": "127.0.0.1:0",
            "api-token-file": token_file,
            "leader-election-namespace": namespace,
            "leader-election-name": LEASE,
            "lease-duration": "4s",
            "lease-renew-deadline": "2500ms",
            "lease-retry-period": "500ms",
        }
        argv = daemon_argv(given, "--no-automation", "--leader-election")
        replica = Replica(identity, argv, tmp_path / f"{identity}.log")
        started.append(replica)
        return replica

    yield repo, start
    codes = [replica.stop() for replica in started]
    assert codes == [0] * len(started), "every replica ends cleanly on SIGTERM"


def test_one_replica_leads_the_other_serves_reads_and_takes_over_after_sigterm(
    replicas, kube, namespace, tmp_path
):
    repo, start = replicas
    replica_a, replica_b = start("replica-a"), start("replica-b")
    by_name = {"replica-a": replica_a, "replica-b": replica_b}
    holder = wait_until(lambda: lease_holder(kube, namespace), "a replica to take the lease")
    leader = by_name[holder]
    follower = replica_b if leader is replica_a else replica_a

    # The leader syncs the seeded repo; the follower is ready too, and says who leads.
    assert wait_until(lambda: applied_data(kube, namespace) == {"version": "1"}, "the sync")
    ready = wait_until(lambda: leader.readiness().is_success and leader.readiness(), "leader")
    assert (ready.json()["leader"], ready.json()["leaderIdentity"]) == (True, holder)
    following = follower.readiness()
    assert following.status_code == 200, following.text
    assert (following.json()["leader"], following.json()["leaderIdentity"]) == (False, holder)
    assert (leader.metric("conveyor_leader"), follower.metric("conveyor_leader")) == (1.0, 0.0)
    assert leader.syncs() >= 1
    assert follower.syncs() == 0, "a follower never syncs"

    # Reads work on the follower; writes are refused there, naming the leader.
    assert httpx.get(f"{follower.url}/api/v1/status", headers=AUTH).json()["outcome"] == (
        "succeeded"
    )
    refused = httpx.post(f"{follower.url}/api/v1/sync", headers=AUTH, timeout=30)
    assert refused.status_code == 503
    assert f"not the leader (leader: {holder})" in refused.json()["detail"]
    assert httpx.post(f"{follower.url}/api/v1/sync", timeout=30).status_code == 401, (
        "the token is checked before anything is said about the leader"
    )

    # Pushed before the leader stops: the follower syncs as soon as it takes the lease, which
    # can be before a push made after the stop lands. The old leader never syncs it (no poll
    # within 300 s, no webhooks).
    clone = WorkClone(str(repo.path), tmp_path / "clone")
    clone.write("apps/settings.yaml", dump(configmap("settings", namespace, version="2")))
    clone.commit_and_push("settings: version 2")
    assert leader.stop() == 0

    wait_until(lambda: lease_holder(kube, namespace) == follower.identity, "the takeover")
    assert wait_until(
        lambda: applied_data(kube, namespace) == {"version": "2"}, "the new leader's sync"
    )
    assert wait_until(lambda: follower.metric("conveyor_leader") == 1.0, "the gauge to say so")
    assert follower.syncs() >= 1
    taken = wait_until(lambda: follower.readiness().is_success and follower.readiness(), "ready")
    assert (taken.json()["leader"], taken.json()["leaderIdentity"]) == (True, follower.identity)
    events = leader.events()
    assert any(event.startswith("released lease") for event in events), events[-10:]
