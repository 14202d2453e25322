"""The release routes' checks that come before the release manager: the token, a manager that
is not running yet, and requests that cannot be carried out as given. The routes over a real
manager, the git server and the cluster are in test_releases.py."""

import warnings

import pytest
from fastapi import FastAPI

from conveyor.adapters.git import GitCommandError
from conveyor.adapters.kube import ApiUnavailable
from conveyor.api.auth import bearer_token_check
from conveyor.api.releases import release_router

with warnings.catch_warnings():
    # starlette 1.x asks for httpx2 behind its TestClient; the pinned httpx 0.28 works the same.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

TOKEN = "release-routes-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
WEB = "shop:deployment/web"


@pytest.fixture
def client():
    app = FastAPI()
    # A manager that is not there yet, as while the daemon is starting.
    app.include_router(release_router(manager=lambda: None, auth=bearer_token_check(TOKEN)))
    with TestClient(app) as test_client:
        yield test_client


ROUTES = [
    ("GET", "/api/v1/workloads", None),
    ("GET", "/api/v1/workloads/status?workload=shop:deployment/web", None),
    ("POST", "/api/v1/release", {"workloads": [WEB], "image": "app:1.0"}),
    ("POST", "/api/v1/rollback", {"workload": WEB}),
    ("POST", "/api/v1/policy", {"workloads": [WEB], "action": "lock"}),
    ("GET", "/api/v1/history", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_every_route_needs_the_token(client, method, path, body):
    missing = client.request(method, path, json=body)
    wrong = client.request(method, path, json=body, headers={"Authorization": "Bearer nope"})
    assert (missing.status_code, wrong.status_code) == (401, 401)
    assert "invalid bearer token" in wrong.json()["detail"]


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_a_manager_not_running_yet_answers_503(client, method, path, body):
    response = client.request(method, path, json=body, headers=AUTH)
    assert response.status_code == 503
    assert "not running yet" in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"workloads": [WEB]}, "exactly one"),
        ({"workloads": [WEB], "image": "app:1.0", "update_all": True}, "exactly one"),
        ({"image": "app:1.0"}, "none were selected"),
        ({"workloads": ["web"], "image": "app:1.0"}, "namespace:kind/name"),
    ],
)
def test_a_release_that_cannot_be_done_as_given_is_400(client, body, expected):
    response = client.post("/api/v1/release", json=body, headers=AUTH)
    assert response.status_code == 400
    assert expected in response.json()["detail"]


def test_a_policy_change_needs_a_container_and_a_known_action(client):
    no_container = client.post(
        "/api/v1/policy", json={"workloads": [WEB], "action": "policy"}, headers=AUTH
    )
    assert no_container.status_code == 400
    assert "names the container" in no_container.json()["detail"]
    unknown = client.post("/api/v1/policy", json={"all": True, "action": "pin"}, headers=AUTH)
    assert unknown.status_code == 422


def test_history_limits_are_checked(client):
    response = client.get("/api/v1/history?limit=0", headers=AUTH)
    assert response.status_code == 422


def test_the_routes_are_in_the_openapi_spec(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert {
        "/api/v1/workloads",
        "/api/v1/workloads/status",
        "/api/v1/release",
        "/api/v1/rollback",
        "/api/v1/policy",
        "/api/v1/history",
    } <= set(paths)
    release = paths["/api/v1/release"]["post"]
    assert {"400", "503"} <= set(release["responses"])


def test_the_operation_answer_documents_not_applied_as_nullable_text(client):
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    field = schemas["OperationModel"]["properties"]["notApplied"]
    assert {t["type"] for t in field["anyOf"]} == {"string", "null"}
    assert "did not reach the cluster" in field["description"]
    assert "notApplied" in schemas["OperationModel"]["required"]


class Failing:
    """Stands in for the manager only to raise what the layers below raise."""

    def __init__(self, error):
        self.error = error

    async def list_workloads(self):
        raise self.error


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (ApiUnavailable("cannot reach https://127.0.0.1:6443"), "check that the apiserver"),
        (
            GitCommandError("git fetch failed", argv=["git", "fetch"], returncode=128, stderr=""),
            "check that the git host",
        ),
    ],
)
def test_the_cluster_or_git_failing_is_503_saying_what_to_check(error, expected):
    app = FastAPI()
    app.include_router(release_router(manager=lambda: Failing(error), auth=None))
    with TestClient(app) as client:
        response = client.get("/api/v1/workloads")
    assert response.status_code == 503
    assert expected in response.json()["detail"] and str(error) in response.json()["detail"]
