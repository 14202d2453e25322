"""The API app over a stand-in daemon: auth on every state route, open health, metrics, OpenAPI.

The stand-in answers with real core data (a sync marker, an automation plan made by the pure
planner); the real daemon behind the same app is exercised in tests/daemon/test_runner.py.
"""

import json
import warnings
from datetime import UTC, datetime

import pytest

from conveyor.adapters.git import GitCommandError, Remote
from conveyor.api.app import create_app
from conveyor.core.events import GitProvider, ImageProvider
from conveyor.core.plan import plan_automation
from conveyor.core.policy import TagCandidate
from conveyor.core.sync.objects import ObjectRef
from conveyor.core.sync.record import Action, ObjectResult, Outcome, SyncMarker
from conveyor.core.webhooks_verify import CONVEYOR_SIGNATURE_HEADER, WebhookSecrets, sign_body
from conveyor.daemon.automation import AutomationResult, AutomationTarget
from conveyor.daemon.metrics import DaemonMetrics
from conveyor.daemon.runner_state import AutomationDisabled, Readiness

with warnings.catch_warnings():
    # starlette 1.x asks for httpx2 behind its TestClient; the pinned httpx 0.28 works the same.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

TOKEN = "correct-horse-battery-staple"
HOOK_SECRET = "webhook-secret-value"
MANIFEST = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  annotations:
    conveyor.dev/automated: "true"
    conveyor.dev/tag.app: "semver:~1.2"
spec:
  template:
    spec:
      containers:
        - name: app
          image: registry.example.com/shop/web:1.2.3
"""

PROTECTED = [
    ("GET", "/metrics"),
    ("GET", "/api/v1/status"),
    ("POST", "/api/v1/sync"),
    ("GET", "/api/v1/images"),
    ("POST", "/api/v1/automate"),
    ("GET", "/api/v1/identity"),
]


def marker():
    deployment = ObjectRef("apps/v1", "Deployment", "shop", "web")
    return SyncMarker(
        name="default",
        revision="a" * 40,
        time="2026-01-31T12:00:00+00:00",
        outcome=Outcome.SUCCEEDED,
        results=(ObjectResult(deployment, Action.CONFIGURED, "app.yaml", 0, health="Healthy"),),
    )


def automation_result(*, dry_run):
    plan = plan_automation(
        {"app.yaml": MANIFEST},
        tags={
            "registry.example.com/shop/web": [
                TagCandidate(tag) for tag in ("1.2.3", "1.2.4", "1.3.0")
            ]
        },
        setter_policies={},
        now=datetime(2026, 1, 31, tzinfo=UTC),
    )
    remote = Remote.parse("ssh://git@git.example.com/org/config.git")
    return AutomationResult(
        target=AutomationTarget(remote),
        plan=plan,
        changes=(),
        revision="b" * 40,
        committed=False,
        dry_run=dry_run,
    )


class FakeDaemon:
    def __init__(self):
        self.public_key = "ssh-ed25519 AAAAC3Nza conveyor"
        self.ready = Readiness(git_fetched=True, cluster_reachable=True)
        self.marker = marker()
        self.calls = []
        self.metrics = DaemonMetrics()
        self.image_pushes = []
        self.automation_on = True

    def readiness(self):
        return self.ready

    def metrics_text(self):
        return self.metrics.render()

    async def status(self):
        self.calls.append("status")
        return self.marker

    async def sync_now(self):
        self.calls.append("sync")
        return self.marker

    async def plan_images(self):
        self.calls.append("images")
        return automation_result(dry_run=True)

    async def automate_now(self):
        self.calls.append("automate")
        if not self.automation_on:
            raise AutomationDisabled("automation is switched off")
        return automation_result(dry_run=False)

    async def on_git_push(self, event):
        self.calls.append("git push")

    async def on_image_push(self, event):
        self.image_pushes.append(event)


@pytest.fixture
def daemon():
    return FakeDaemon()


@pytest.fixture
def client(daemon):
    secrets = WebhookSecrets(
        git={GitProvider.GENERIC: HOOK_SECRET}, image={ImageProvider.GENERIC: HOOK_SECRET}
    )
    app = create_app(state=daemon, token=TOKEN, webhook_secrets=secrets)
    with TestClient(app) as test_client:
        yield test_client


def auth(token=TOKEN):
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_every_state_route_refuses_a_missing_token(client, daemon, method, path):
    response = client.request(method, path)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="conveyor"'
    assert daemon.calls == [], "nothing is read or done before the token is checked"


@pytest.mark.parametrize(("method", "path"), PROTECTED)
@pytest.mark.parametrize(
    "header", [auth("wrong-token"), auth(TOKEN + "x"), {"Authorization": f"Basic {TOKEN}"}]
)
def test_every_state_route_refuses_a_wrong_token(client, daemon, method, path, header):
    response = client.request(method, path, headers=header)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="conveyor"')
    assert TOKEN not in response.text
    assert daemon.calls == []


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_every_state_route_answers_with_the_token(client, method, path):
    assert client.request(method, path, headers=auth()).status_code == 200


def test_health_is_open_and_readiness_says_what_is_missing(client, daemon):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json()["ready"] is True
    daemon.ready = Readiness(git_fetched=False, cluster_reachable=True, problems=("no fetch",))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {
        "ready": False,
        "gitFetched": False,
        "clusterReachable": True,
        "problems": ["no fetch"],
    }


def test_status_and_sync_answer_with_the_marker(client, daemon):
    status = client.get("/api/v1/status", headers=auth()).json()
    assert status == client.post("/api/v1/sync", headers=auth()).json()
    assert (status["revision"], status["outcome"]) == ("a" * 40, "succeeded")
    [web] = status["objects"]
    assert (web["kind"], web["name"], web["action"], web["health"]) == (
        "Deployment",
        "web",
        "configured",
        "Healthy",
    )
    daemon.marker = None
    assert client.get("/api/v1/status", headers=auth()).status_code == 404


def test_images_explains_every_candidate(client):
    body = client.get("/api/v1/images", headers=auth()).json()
    assert body["dryRun"] is True and body["committed"] is False
    [image] = body["images"]
    assert (image["workload"], image["container"], image["outcome"]) == (
        "shop:deployment/web",
        "app",
        "update",
    )
    assert (image["currentTag"], image["chosenTag"]) == ("1.2.3", "1.2.4")
    verdicts = {c["tag"]: c["reason"] for c in image["candidates"]}
    assert verdicts == {"1.2.4": "chosen", "1.2.3": "older_than_chosen", "1.3.0": "filtered_out"}


def test_automate_when_automation_is_off_is_a_conflict(client, daemon):
    daemon.automation_on = False
    response = client.post("/api/v1/automate", headers=auth())
    assert response.status_code == 409
    assert "switched off" in response.json()["detail"]


def test_a_git_failure_is_a_bad_gateway_that_says_what_failed(client, daemon):
    async def failing_sync():
        raise GitCommandError(
            "git fetch failed: could not read from remote",
            argv=["git", "fetch"],
            returncode=128,
            stderr="fatal: could not read from remote",
        )

    daemon.sync_now = failing_sync
    response = client.post("/api/v1/sync", headers=auth())
    assert response.status_code == 502
    assert response.json()["detail"].startswith("the config repo failed")


def test_identity_shows_the_public_key(client, daemon):
    assert client.get("/api/v1/identity", headers=auth()).json() == {"publicKey": daemon.public_key}
    daemon.public_key = None
    assert client.get("/api/v1/identity", headers=auth()).status_code == 404


def test_metrics_are_prometheus_text(client, daemon):
    daemon.metrics.observe_sync("succeeded", 0.5)
    daemon.metrics.count_rollback(automatic=True)
    response = client.get("/metrics", headers=auth())
    assert response.headers["content-type"].startswith("text/plain")
    assert 'conveyor_syncs_total{outcome="succeeded"} 1.0' in response.text
    assert 'conveyor_rollbacks_total{result="succeeded",trigger="automatic"} 1.0' in response.text
    assert "conveyor_sync_duration_seconds_bucket" in response.text


def test_webhooks_use_their_signature_not_the_token(client, daemon):
    body = json.dumps(
        {
            "specversion": "1.0",
            "type": "dev.conveyor.image.push",
            "source": "ci",
            "id": "1",
            "data": {"repository": "registry.example.com/shop/web", "tag": "1.2.4"},
        }
    ).encode()
    headers = {"Content-Type": "application/cloudevents+json"}
    signed = {**headers, CONVEYOR_SIGNATURE_HEADER: sign_body(HOOK_SECRET, body)}
    tampered = {**headers, CONVEYOR_SIGNATURE_HEADER: sign_body(HOOK_SECRET, body + b" ")}
    assert client.post("/hooks/image/generic", content=body, headers=tampered).status_code == 401
    assert daemon.image_pushes == []
    assert client.post("/hooks/image/generic", content=body, headers=signed).status_code == 202
    assert [(e.repository, e.tag) for e in daemon.image_pushes] == [
        ("registry.example.com/shop/web", "1.2.4")
    ]
    # A provider with no secret configured is off.
    assert client.post("/hooks/image/quay", content=body, headers=headers).status_code == 404


def test_the_openapi_spec_lists_every_route_with_typed_answers(client):
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    for method, path in [*PROTECTED, ("GET", "/healthz"), ("GET", "/readyz")]:
        assert method.lower() in paths[path], (method, path)
    assert "/hooks/image/{provider}" in paths and "/hooks/git/{provider}" in paths
    schemas = spec["components"]["schemas"]
    assert {"SyncMarkerModel", "AutomationModel", "ImageModel", "ReadinessModel"} <= set(schemas)
    sync_answer = paths["/api/v1/sync"]["post"]["responses"]["200"]["content"]
    assert sync_answer["application/json"]["schema"] == {
        "$ref": "#/components/schemas/SyncMarkerModel"
    }
    assert "apiToken" in spec["components"]["securitySchemes"]
    assert paths["/api/v1/status"]["get"]["security"] == [{"apiToken": []}]
    assert "security" not in paths["/healthz"]["get"]


def test_an_empty_token_is_refused(daemon):
    with pytest.raises(ValueError, match="empty"):
        create_app(state=daemon, token="")
