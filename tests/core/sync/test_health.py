import pytest

from conveyor.core.sync.health import HealthStatus, evaluate_health


def deployment(*, generation=2, observed=2, replicas=2, updated=2, total=2, available=2, **extra):
    status = {
        "observedGeneration": observed,
        "replicas": total,
        "updatedReplicas": updated,
        "availableReplicas": available,
        **extra,
    }
    return {
        "kind": "Deployment",
        "metadata": {"generation": generation},
        "spec": {"replicas": replicas},
        "status": status,
    }


@pytest.mark.parametrize(
    ("live", "status", "reason"),
    [
        (deployment(), HealthStatus.HEALTHY, "2 of 2 replicas available"),
        (deployment(observed=1), HealthStatus.PROGRESSING, "observe generation 2"),
        (deployment(updated=1), HealthStatus.PROGRESSING, "1 of 2 replicas updated"),
        (deployment(total=3), HealthStatus.PROGRESSING, "1 old replicas pending termination"),
        (deployment(available=1), HealthStatus.PROGRESSING, "1 of 2 updated replicas available"),
        (
            deployment(
                available=0,
                conditions=[
                    {"type": "Progressing", "reason": "ProgressDeadlineExceeded", "message": "m"}
                ],
            ),
            HealthStatus.FAILED,
            "rollout stuck: m",
        ),
    ],
)
def test_deployment_rules(live, status, reason):
    health = evaluate_health(live)
    assert health.status is status
    assert reason in health.reason


def test_statefulset_waits_for_ready_replicas_and_the_update_revision():
    base = {"kind": "StatefulSet", "metadata": {"generation": 1}, "spec": {"replicas": 2}}
    ready = {"observedGeneration": 1, "readyReplicas": 2, "currentReplicas": 2}
    assert evaluate_health({**base, "status": ready}).status is HealthStatus.HEALTHY
    rolling = {**ready, "currentRevision": "a", "updateRevision": "b", "updatedReplicas": 1}
    assert (
        evaluate_health({**base, "status": rolling}).reason == "1 of 2 replicas at the new revision"
    )
    assert evaluate_health({**base, "status": {**ready, "readyReplicas": 1}}).status is (
        HealthStatus.PROGRESSING
    )


def test_daemonset_counts_nodes():
    live = {
        "kind": "DaemonSet",
        "metadata": {"generation": 1},
        "status": {
            "observedGeneration": 1,
            "desiredNumberScheduled": 2,
            "updatedNumberScheduled": 2,
            "numberAvailable": 1,
        },
    }
    assert evaluate_health(live).reason == "1 of 2 nodes available"


def test_job_complete_failed_or_running():
    def job(conditions, **status):
        return {"kind": "Job", "status": {"conditions": conditions, **status}}

    complete = job([{"type": "Complete", "status": "True"}], succeeded=1)
    failed = job([{"type": "Failed", "status": "True", "message": "BackoffLimitExceeded"}])
    assert evaluate_health(complete).status is HealthStatus.HEALTHY
    assert evaluate_health(failed).reason == "job failed: BackoffLimitExceeded"
    assert evaluate_health(job([], active=1)).reason == "running (1 active)"


def test_crd_ready_condition_missing_and_plain_objects():
    crd = {"kind": "CustomResourceDefinition", "metadata": {"generation": 1}, "status": {}}
    assert evaluate_health(crd).status is HealthStatus.PROGRESSING
    crd["status"] = {"conditions": [{"type": "Established", "status": "True"}]}
    assert evaluate_health(crd).status is HealthStatus.HEALTHY
    not_ready = {"kind": "Widget", "status": {"conditions": [{"type": "Ready", "status": "False"}]}}
    assert evaluate_health(not_ready).status is HealthStatus.PROGRESSING
    assert evaluate_health({"kind": "ConfigMap"}).reason == "exists"
    assert evaluate_health(None).status is HealthStatus.MISSING
