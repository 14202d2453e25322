"""Leader election: its settings, its defaults, the API of a follower, and campaigns.

The campaigns run in-process on a real Lease of the real apiserver (marked integration). Each
campaign's "work" records when it starts and stops in one shared journal, so the tests check
the property that matters: a leader's work has stopped before another's starts. The API part
puts the app over the API tests' stand-in daemon with a leadership that says "follower". With
``POD_NAME`` set, the campaigns also label (and unlabel) real Pods, which the API Service selects.
"""

import asyncio
import logging
import os
import socket
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from conveyor.adapters.kube import LEADER_LABEL, KubeClient, LeaseClient, RetryPolicy
from conveyor.api.app import create_app
from conveyor.core.leader import LeaderTimings
from conveyor.core.webhooks_verify import WebhookSecrets
from conveyor.daemon.leader import LeaderElection, LeaderStatus, own_pod_label
from conveyor.daemon.metrics import DaemonMetrics
from conveyor.daemon.runner_setup import lease_setup
from conveyor.daemon.runner_state import Readiness
from conveyor.daemon.settings import SettingsError, parse_settings
from tests.adapters.kube.tcp_proxy import TcpProxy
from tests.adapters.kube.test_lease import create_pod, pod_metadata
from tests.api.test_app import TOKEN, FakeDaemon, TestClient

TIMINGS = LeaderTimings(lease_duration=3.0, renew_deadline=2.0, retry_period=0.3)
LEASE = "conveyor-leader-test"
PATIENCE = 60.0  # seconds; only ever a limit for giving up, never the thing tested


# -- settings and their defaults ------------------------------------------------------------

REPO = "ssh://git@git.example.com/org/config.git"


def parse(flags, environ=None, file_data=None):
    return parse_settings(
        flags={"repo": REPO, **flags},
        environ=environ or {},
        file_data=file_data,
        file_name="c.yaml",
        home=Path("/home/ops"),
    )


def test_leader_election_is_off_by_default_and_its_other_options_then_do_nothing():
    assert parse({}).leader_election is None
    assert parse({"lease_duration": "1h"}).leader_election is None


def test_leader_election_comes_from_a_flag_a_variable_or_the_file_with_client_go_defaults():
    spec = parse({"leader_election": True}).leader_election
    assert spec is not None
    assert spec.timings == LeaderTimings(lease_duration=15.0, renew_deadline=10.0, retry_period=2.0)
    assert (spec.name, spec.namespace, spec.identity) == (None, None, None)
    assert spec.lease_name("prod") == "conveyor-leader-prod"

    environ = {"CONVEYOR_LEADER_ELECTION": "true", "CONVEYOR_LEASE_RETRY_PERIOD": "500ms"}
    file_data = {"leaseDuration": "4s", "leaseRenewDeadline": 2.5, "leaderElectionName": "x"}
    spec = parse({}, environ, file_data).leader_election
    assert spec is not None
    assert spec.timings == LeaderTimings(lease_duration=4.0, renew_deadline=2.5, retry_period=0.5)
    assert spec.lease_name("prod") == "x"


def test_unsafe_timings_and_bad_names_are_refused_naming_the_setting():
    with pytest.raises(SettingsError) as raised:
        parse(
            {
                "leader_election": True,
                "lease_duration": "5s",
                "lease_renew_deadline": "10s",
                "leader_election_name": "Not_A_Name",
                "leader_election_namespace": "a.b",
            }
        )
    problems = {p.path: p.message for p in raised.value.problems}
    assert problems == {
        "--lease-duration / CONVEYOR_LEASE_DURATION / leaseDuration": (
            "the lease duration must be more than the renew deadline"
        ),
        "--leader-election-name / CONVEYOR_LEADER_ELECTION_NAME / leaderElectionName": (
            "expected a lowercase DNS name"
        ),
        "--leader-election-namespace / CONVEYOR_LEADER_ELECTION_NAMESPACE /"
        " leaderElectionNamespace": "expected a namespace name",
    }


def test_the_lease_lives_in_the_pods_namespace_else_conveyor_system(tmp_path):
    settings = parse({"leader_election": True, "sync_name": "prod"})
    missing = tmp_path / "no-such-file"
    outside = lease_setup(settings, {}, namespace_file=missing)
    assert outside is not None
    assert (outside.namespace, outside.name) == ("conveyor-system", "conveyor-leader-prod")
    assert outside.identity == f"{socket.gethostname()}_{os.getpid()}"

    mounted = tmp_path / "namespace"
    mounted.write_text("team-a\n")
    assert lease_setup(settings, {}, namespace_file=mounted).namespace == "team-a"
    downward = lease_setup(settings, {"POD_NAMESPACE": "team-b"}, namespace_file=mounted)
    assert downward.namespace == "team-b"
    chosen = parse({"leader_election": True, "leader_election_namespace": "ops"})
    assert lease_setup(chosen, {"POD_NAMESPACE": "team-b"}, namespace_file=mounted).namespace == (
        "ops"
    )
    assert lease_setup(parse({}), {}, namespace_file=mounted) is None


# -- the API of a follower --------------------------------------------------------------------


class Leadership:
    def __init__(self):
        self.status = LeaderStatus(
            leading=False, identity="pod-b_1", holder="pod-a_1", lease="ns/l", reachable=True
        )

    def __call__(self):
        return self.status


@pytest.fixture
def follower():
    daemon, leadership = FakeDaemon(), Leadership()
    secrets = WebhookSecrets()
    app = create_app(state=daemon, token=TOKEN, webhook_secrets=secrets, leadership=leadership)
    with TestClient(app) as client:
        yield client, daemon, leadership


AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.mark.parametrize(
    "path", ["/api/v1/sync", "/api/v1/automate", "/api/v1/release", "/hooks/git/generic"]
)
def test_a_follower_refuses_writes_naming_the_leader(follower, path):
    client, daemon, _ = follower
    response = client.post(path, headers=AUTH, json={})
    assert response.status_code == 503
    assert response.json()["detail"].startswith("not the leader (leader: pod-a_1)")
    assert response.headers["Retry-After"]
    assert daemon.calls == []


def test_a_follower_checks_the_token_first_and_serves_reads(follower):
    client, daemon, _ = follower
    assert client.post("/api/v1/sync").status_code == 401
    assert client.get("/api/v1/status", headers=AUTH).status_code == 200
    assert daemon.calls == ["status"]


def test_a_follower_is_ready_while_it_reads_the_lease_and_says_who_leads(follower):
    client, daemon, leadership = follower
    # A follower never fetches: its readiness is the lease's, not the sync's.
    daemon.ready = Readiness(git_fetched=False, cluster_reachable=False, problems=("no fetch",))
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {
        "ready": True,
        "gitFetched": False,
        "clusterReachable": False,
        "problems": [],
        "leader": False,
        "leaderIdentity": "pod-a_1",
    }
    leadership.status = LeaderStatus(
        leading=False,
        identity="pod-b_1",
        holder="",
        lease="ns/l",
        reachable=False,
        problem="reading lease ns/l failed",
    )
    unready = client.get("/readyz")
    assert unready.status_code == 503
    assert unready.json()["problems"] == ["reading lease ns/l failed"]
    assert "leaderIdentity" not in unready.json()


def test_a_leader_answers_writes_and_is_ready_when_its_work_is(follower):
    client, daemon, leadership = follower
    leadership.status = LeaderStatus(
        leading=True, identity="pod-b_1", holder="pod-b_1", lease="ns/l", reachable=True
    )
    assert client.post("/api/v1/sync", headers=AUTH).status_code == 200
    daemon.ready = Readiness(git_fetched=False, cluster_reachable=True, problems=("no fetch",))
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert (ready.json()["leader"], ready.json()["problems"]) == (True, ["no fetch"])


# -- campaigns on the real apiserver ---------------------------------------------------------


class Work:
    """The leader's work: runs until cancelled, noting its start and stop in ``journal``."""

    def __init__(self, name, journal):
        self.name = name
        self.journal = journal
        self.running = False

    async def __call__(self):
        self.running = True
        self.journal.append(f"{self.name} started")
        try:
            await asyncio.Event().wait()
        finally:
            self.running = False
            self.journal.append(f"{self.name} stopped")


async def eventually(check, what):
    deadline = time.monotonic() + PATIENCE
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        await asyncio.sleep(0.05)


def campaign(kube, namespace, identity, *, metrics=None, pod=None):
    lease = LeaseClient(kube, namespace=namespace, name=LEASE)
    return LeaderElection(lease, identity=identity, timings=TIMINGS, metrics=metrics, pod=pod)


async def stop(task):
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def lease_spec(kube, namespace):
    path = f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/{LEASE}"
    return kube.get(path).json()["spec"]


def gauge(metrics):
    return metrics.registry.get_sample_value("conveyor_leader")


@pytest.mark.integration
@pytest.mark.anyio
async def test_one_leads_the_other_follows_and_takes_over_when_the_leader_stops(
    testenv, namespace, kube
):
    journal = []
    metrics_a, metrics_b = DaemonMetrics(), DaemonMetrics()
    async with await KubeClient.connect(testenv.cluster.kubeconfig) as client:
        a = campaign(client, namespace, "a", metrics=metrics_a)
        b = campaign(client, namespace, "b", metrics=metrics_b)
        work_a, work_b = Work("a", journal), Work("b", journal)
        running_a = asyncio.create_task(a.run(work_a))
        await eventually(lambda: work_a.running, "a to lead")
        running_b = asyncio.create_task(b.run(work_b))
        try:
            await eventually(lambda: b.status().holder == "a", "b to see a as the leader")
            assert (a.leading, b.leading, work_b.running) == (True, False, False)
            assert (gauge(metrics_a), gauge(metrics_b)) == (1.0, 0.0)
            follower = b.status()
            assert (follower.identity, follower.reachable, follower.lease) == (
                "b",
                True,
                f"{namespace}/{LEASE}",
            )
            assert lease_spec(kube, namespace)["holderIdentity"] == "a"

            await stop(running_a)  # the daemon's shutdown: stop the work, then release
            await a.release()
            assert (a.leading, gauge(metrics_a)) == (False, 0.0)
            await eventually(lambda: work_b.running, "b to take over")
            assert (b.leading, gauge(metrics_b), b.terms) == (True, 1.0, 1)
        finally:
            await stop(running_a)
            await stop(running_b)
    assert journal == ["a started", "a stopped", "b started", "b stopped"]
    spec = lease_spec(kube, namespace)
    assert (spec["holderIdentity"], spec["leaseTransitions"]) == ("b", 1)


@pytest.mark.integration
@pytest.mark.anyio
async def test_a_leader_whose_lease_is_taken_stops_its_work(testenv, namespace, kube):
    journal = []
    async with await KubeClient.connect(testenv.cluster.kubeconfig) as client:
        a = campaign(client, namespace, "a")
        running = asyncio.create_task(a.run(Work("a", journal)))
        try:
            await eventually(lambda: a.leading, "a to lead")
            path = f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/{LEASE}"
            lease = kube.get(path).json()
            now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            lease["spec"].update(
                holderIdentity="intruder", leaseDurationSeconds=3600, renewTime=now
            )
            kube.put(path, json=lease).raise_for_status()
            await eventually(lambda: not a.leading, "a to step down")
            await eventually(lambda: journal == ["a started", "a stopped"], "a's work to stop")
            assert a.status().holder == "intruder"
        finally:
            await stop(running)
        await a.release()
    assert lease_spec(kube, namespace)["holderIdentity"] == "intruder", "not ours to release"


@pytest.mark.integration
@pytest.mark.anyio
async def test_a_leader_cut_off_from_the_apiserver_stops_before_the_other_takes_over(
    testenv, namespace, tmp_path
):
    journal = []
    proxy = TcpProxy(testenv.cluster.server)
    await proxy.start()
    cut_off = proxy.kubeconfig(testenv.cluster.kubeconfig, tmp_path / "kubeconfig")
    retry = RetryPolicy(deadline=TIMINGS.renew_deadline, first_delay=0.05, max_delay=0.3)
    async with (
        await KubeClient.connect(cut_off, retry=retry) as via_proxy,
        await KubeClient.connect(testenv.cluster.kubeconfig) as direct,
    ):
        a, b = campaign(via_proxy, namespace, "a"), campaign(direct, namespace, "b")
        work_a, work_b = Work("a", journal), Work("b", journal)
        running_a = asyncio.create_task(a.run(work_a))
        running_b = None
        try:
            await eventually(lambda: a.leading, "a to lead")
            running_b = asyncio.create_task(b.run(work_b))
            await eventually(lambda: b.status().holder == "a", "b to follow a")
            await proxy.stop()
            await eventually(lambda: work_b.running, "b to take over")
            status = a.status()
            assert not status.leading
            assert not status.reachable and status.problem
        finally:
            await stop(running_a)
            if running_b is not None:
                await stop(running_b)
    assert journal[:3] == ["a started", "a stopped", "b started"]


# -- the leader's label on its pod ------------------------------------------------------------


def test_outside_a_pod_nothing_is_labelled_and_inside_the_downward_api_names_the_pod():
    assert own_pod_label(object(), {"POD_NAMESPACE": "ops"}, namespace="ops") is None
    label = own_pod_label(object(), {"POD_NAME": "conveyor-7f9-x2"}, namespace="ops")
    assert (label.namespace, label.pod) == ("ops", "conveyor-7f9-x2")
    environ = {"POD_NAME": "conveyor-7f9-x2", "POD_NAMESPACE": "conveyor-system"}
    assert own_pod_label(object(), environ, namespace="ops").namespace == "conveyor-system"


def leader_labelled(kube, namespace, pod):
    return pod_metadata(kube, namespace, pod).get("labels", {}).get(LEADER_LABEL) == "true"


def in_pod(client, namespace, pod):
    environ = {"POD_NAME": pod, "POD_NAMESPACE": namespace}
    return own_pod_label(client, environ, namespace=namespace)


@pytest.mark.integration
@pytest.mark.anyio
async def test_the_leaders_pod_carries_the_label_and_it_moves_with_leadership(
    testenv, namespace, kube
):
    create_pod(kube, namespace, "pod-a")
    create_pod(kube, namespace, "pod-b")
    journal = []
    async with await KubeClient.connect(testenv.cluster.kubeconfig) as client:
        a = campaign(client, namespace, "a", pod=in_pod(client, namespace, "pod-a"))
        b = campaign(client, namespace, "b", pod=in_pod(client, namespace, "pod-b"))
        work_b = Work("b", journal)
        running_a = asyncio.create_task(a.run(Work("a", journal)))
        await eventually(lambda: leader_labelled(kube, namespace, "pod-a"), "pod-a's label")
        running_b = asyncio.create_task(b.run(work_b))
        try:
            await eventually(lambda: b.status().holder == "a", "b to follow a")
            assert not leader_labelled(kube, namespace, "pod-b")

            await stop(running_a)
            await a.release()  # the shutdown of a's daemon takes the label off
            assert not leader_labelled(kube, namespace, "pod-a")
            await eventually(lambda: work_b.running, "b to take over")
            await eventually(lambda: leader_labelled(kube, namespace, "pod-b"), "pod-b's label")
        finally:
            await stop(running_a)
            await stop(running_b)


@pytest.mark.integration
@pytest.mark.anyio
async def test_a_leader_that_loses_its_lease_takes_its_label_off(testenv, namespace, kube):
    create_pod(kube, namespace, "pod-a")
    async with await KubeClient.connect(testenv.cluster.kubeconfig) as client:
        a = campaign(client, namespace, "a", pod=in_pod(client, namespace, "pod-a"))
        running = asyncio.create_task(a.run(Work("a", [])))
        try:
            await eventually(lambda: leader_labelled(kube, namespace, "pod-a"), "pod-a's label")
            path = f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/{LEASE}"
            lease = kube.get(path).json()
            now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            lease["spec"].update(
                holderIdentity="intruder", leaseDurationSeconds=3600, renewTime=now
            )
            kube.put(path, json=lease).raise_for_status()
            await eventually(lambda: not a.leading, "a to step down")
            await eventually(
                lambda: not leader_labelled(kube, namespace, "pod-a"), "pod-a's label to go"
            )
        finally:
            await stop(running)


@pytest.mark.integration
@pytest.mark.anyio
async def test_a_label_that_cannot_be_written_costs_no_leadership_and_is_retried(
    testenv, namespace, kube, caplog
):
    caplog.set_level(logging.WARNING, logger="conveyor.daemon.leader")
    async with await KubeClient.connect(testenv.cluster.kubeconfig) as client:
        a = campaign(client, namespace, "a", pod=in_pod(client, namespace, "pod-late"))
        running = asyncio.create_task(a.run(Work("a", [])))
        try:
            await eventually(lambda: a.leading, "a to lead")
            await eventually(
                lambda: any("leader label" in r.getMessage() for r in caplog.records),
                "a warning about the label",
            )
            [warning] = [r for r in caplog.records if "leader label" in r.getMessage()]
            assert "pod-late" in warning.getMessage() and "POD_NAME" in warning.getMessage()
            create_pod(kube, namespace, "pod-late")  # e.g. RBAC fixed, or the pod now known
            await eventually(lambda: leader_labelled(kube, namespace, "pod-late"), "the label")
            assert a.leading and a.terms == 1
        finally:
            await stop(running)
