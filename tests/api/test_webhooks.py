import json
import warnings

import pytest
from fastapi import FastAPI

from conveyor.api.webhooks import webhook_router
from conveyor.core.events import GitProvider, ImageProvider
from conveyor.core.webhooks_verify import WebhookSecrets
from tests.core.test_webhooks_cloudevents import structured
from tests.core.test_webhooks_git import (
    SHA,
    bitbucket_change,
    bitbucket_push,
    gitea_push,
    github_push,
    gitlab_push,
)
from tests.core.test_webhooks_image import (
    DIGEST,
    distribution_event,
    dockerhub_push,
    ghcr_package,
    harbor_event,
    quay_push,
)
from tests.core.test_webhooks_verify import GIT_PROOFS, IMAGE_PROOFS, SECRET

with warnings.catch_warnings():
    # starlette 1.x asks for httpx2 behind its TestClient; the pinned httpx 0.28 works the same.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

SECRETS = WebhookSecrets(
    git={provider: SECRET for provider in GitProvider},
    image={provider: SECRET for provider in ImageProvider},
)

# (provider, event headers, payload, expected branch or (repository, tag))
GIT_DELIVERIES = [
    (GitProvider.GITHUB, {"X-GitHub-Event": "push"}, github_push(), "main"),
    (GitProvider.GITLAB, {"X-Gitlab-Event": "Push Hook"}, gitlab_push(), "main"),
    (
        GitProvider.BITBUCKET,
        {"X-Event-Key": "repo:push"},
        bitbucket_push([bitbucket_change(name="prod")]),
        "prod",
    ),
    (GitProvider.GITEA, {"X-Gitea-Event": "push"}, gitea_push(), "main"),
    (
        GitProvider.GENERIC,
        {},
        {"repo_url": "git@git.example.com:org/config.git", "branch": "main", "revision": SHA},
        "main",
    ),
]
IMAGE_DELIVERIES = [
    (ImageProvider.QUAY, {}, quay_push(tags=["v1.4.2"]), ("quay.io/acme/app", "v1.4.2")),
    (ImageProvider.HARBOR, {}, harbor_event(), ("harbor.example.com/library/app", "v1.4.2")),
    (
        ImageProvider.GHCR,
        {"X-GitHub-Event": "package"},
        ghcr_package(),
        ("ghcr.io/acme/app", "v1.4.2"),
    ),
    (
        ImageProvider.DISTRIBUTION,
        {},
        {"events": [distribution_event()]},
        ("registry.example.com:5000/team/app", "v1.4.2"),
    ),
    (
        ImageProvider.GENERIC,
        {"Content-Type": "application/cloudevents+json"},
        structured({"repository": "quay.io/acme/app", "tag": "v1.4.2", "digest": DIGEST}),
        ("quay.io/acme/app", "v1.4.2"),
    ),
]


class Recorder:
    def __init__(self):
        self.git = []
        self.image = []

    async def on_git_push(self, event):
        self.git.append(event)

    async def on_image_push(self, event):
        self.image.append(event)


@pytest.fixture
def recorder():
    return Recorder()


def make_client(recorder, *, secrets=SECRETS, **options):
    app = FastAPI()
    app.include_router(
        webhook_router(
            secrets=secrets,
            on_git_push=recorder.on_git_push,
            on_image_push=recorder.on_image_push,
            **options,
        )
    )
    return TestClient(app)


@pytest.fixture
def client(recorder):
    with make_client(recorder) as test_client:
        yield test_client


def post(client, path, payload, *, headers, proof=None, body=None):
    raw = body if body is not None else json.dumps(payload).encode()
    all_headers = {"Content-Type": "application/json", **headers}
    if proof is not None:
        all_headers.update(proof(raw))
    return client.post(path, content=raw, headers=all_headers)


@pytest.mark.parametrize(("provider", "headers", "payload", "branch"), GIT_DELIVERIES)
def test_signed_git_push_is_accepted_and_handled(
    client, recorder, provider, headers, payload, branch
):
    response = post(
        client, f"/hooks/git/{provider}", payload, headers=headers, proof=GIT_PROOFS[provider]
    )
    assert response.status_code == 202, response.text
    assert [event.branch for event in recorder.git] == [branch]
    assert recorder.git[0].provider is provider
    assert response.json()["accepted"][0]["branch"] == branch


@pytest.mark.parametrize(("provider", "headers", "payload", "expected"), IMAGE_DELIVERIES)
def test_verified_image_push_is_accepted_and_handled(
    client, recorder, provider, headers, payload, expected
):
    response = post(
        client, f"/hooks/image/{provider}", payload, headers=headers, proof=IMAGE_PROOFS[provider]
    )
    assert response.status_code == 202, response.text
    assert [(event.repository, event.tag) for event in recorder.image] == [expected]
    assert response.json()["accepted"][0]["repository"] == expected[0]


def test_dockerhub_token_in_the_path(client, recorder):
    response = post(client, f"/hooks/image/dockerhub/{SECRET}", dockerhub_push(), headers={})
    assert response.status_code == 202
    assert [(e.repository, e.tag) for e in recorder.image] == [("docker.io/acme/app", "v1.4.2")]


@pytest.mark.parametrize("path", ["/hooks/image/dockerhub/wrong-token", "/hooks/image/dockerhub"])
def test_dockerhub_wrong_or_missing_token_is_401(client, recorder, path):
    response = post(client, path, dockerhub_push(), headers={})
    assert response.status_code == 401
    assert SECRET not in response.text
    assert recorder.image == []


@pytest.mark.parametrize(("provider", "headers", "payload", "branch"), GIT_DELIVERIES)
def test_tampered_git_push_is_401_and_never_handled(
    client, recorder, provider, headers, payload, branch
):
    signed = json.dumps(payload).encode()
    tampered = signed.replace(b'"main"', b'"evil"').replace(b'"prod"', b'"evil"')
    assert tampered != signed
    all_headers = {"Content-Type": "application/json", **headers, **GIT_PROOFS[provider](signed)}
    if provider is GitProvider.GITLAB:
        # GitLab's proof is a shared token, not a signature: a wrong token stands in for tampering.
        all_headers["X-Gitlab-Token"] = "not-the-secret"
    response = client.post(f"/hooks/git/{provider}", content=tampered, headers=all_headers)
    assert response.status_code == 401
    assert SECRET not in response.text
    assert recorder.git == []


@pytest.mark.parametrize(("provider", "headers", "payload", "expected"), IMAGE_DELIVERIES)
def test_unproven_image_push_is_401_and_never_handled(
    client, recorder, provider, headers, payload, expected
):
    response = post(client, f"/hooks/image/{provider}", payload, headers=headers)
    assert response.status_code == 401
    assert recorder.image == []


def test_tampered_ghcr_package_is_401(client, recorder):
    signed = json.dumps(ghcr_package()).encode()
    tampered = signed.replace(b"v1.4.2", b"v6.6.6")
    headers = {"X-GitHub-Event": "package", **IMAGE_PROOFS[ImageProvider.GHCR](signed)}
    response = client.post("/hooks/image/ghcr", content=tampered, headers=headers)
    assert response.status_code == 401
    assert recorder.image == []


def test_unsigned_garbage_is_401_not_400(client, recorder):
    response = post(
        client, "/hooks/git/github", None, headers={"X-GitHub-Event": "push"}, body=b"{nope"
    )
    assert response.status_code == 401


def test_signed_but_unparseable_payload_is_400(client, recorder):
    response = post(
        client,
        "/hooks/git/github",
        None,
        headers={"X-GitHub-Event": "push"},
        body=b"{nope",
        proof=GIT_PROOFS[GitProvider.GITHUB],
    )
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["detail"]
    assert recorder.git == []


@pytest.mark.parametrize(
    ("event_kind", "payload", "reason"),
    [
        ("ping", {"zen": "Speak like a human.", "hook_id": 3}, "ping"),
        ("push", github_push(ref="refs/tags/v1.0.0", after="0" * 40, deleted=True), "tag"),
        ("push", github_push(after="0" * 40, deleted=True), "deleted"),
    ],
)
def test_verified_non_pushes_are_200_ignored(client, recorder, event_kind, payload, reason):
    response = post(
        client,
        "/hooks/git/github",
        payload,
        headers={"X-GitHub-Event": event_kind},
        proof=GIT_PROOFS[GitProvider.GITHUB],
    )
    assert response.status_code == 200
    assert reason in response.json()["ignored"]
    assert recorder.git == []


def test_unknown_and_unconfigured_providers_are_404(recorder):
    secrets = WebhookSecrets(git={GitProvider.GITHUB: SECRET})
    with make_client(recorder, secrets=secrets) as client:
        unknown = post(client, "/hooks/git/sourcehut", {}, headers={})
        assert unknown.status_code == 404
        assert "github" in unknown.json()["detail"]
        off = post(
            client,
            "/hooks/git/gitlab",
            gitlab_push(),
            headers={"X-Gitlab-Event": "Push Hook"},
            proof=GIT_PROOFS[GitProvider.GITLAB],
        )
        assert off.status_code == 404
        assert post(client, "/hooks/image/nexus", {}, headers={}).status_code == 404
    assert recorder.git == []


def test_oversized_body_is_413(recorder):
    with make_client(recorder, max_body_bytes=256) as client:
        response = post(
            client,
            "/hooks/git/github",
            github_push(),
            headers={"X-GitHub-Event": "push"},
            proof=GIT_PROOFS[GitProvider.GITHUB],
        )
    assert response.status_code == 413
    assert recorder.git == []


def test_routes_are_in_the_openapi_spec(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert {
        "/hooks/git/{provider}",
        "/hooks/image/{provider}",
        "/hooks/image/dockerhub/{token}",
    } <= set(paths)
