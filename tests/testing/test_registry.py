"""The OCI registries of the test environment and the image pusher, on the real services."""

import datetime as dt

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from conveyor.testing.images import DOCKER_LIST, OCI_INDEX, OCI_MANIFEST, ImagePusher
from conveyor.testing.registry import RegistryEndpoint
from conveyor.testing.token_issuer import sign_token

pytestmark = pytest.mark.integration

CREATED = dt.datetime(2024, 3, 1, 12, 30, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize("registry", ["anonymous", "basic", "token"])
def test_a_pushed_tag_is_listed_with_its_created_time_and_labels(pusher, registry_repo, registry):
    p = pusher(registry)
    digest = p.push_image(
        registry_repo,
        "1.2.3",
        created=CREATED,
        labels={"org.opencontainers.image.version": "1.2.3"},
    )
    assert p.tags(registry_repo) == ["1.2.3"]
    manifest_digest, manifest = p.manifest(registry_repo, "1.2.3")
    assert manifest_digest == digest
    assert manifest["mediaType"] == OCI_MANIFEST
    config = p.config(registry_repo, "1.2.3")
    assert config["created"] == "2024-03-01T12:30:00Z"
    assert config["config"]["Labels"] == {"org.opencontainers.image.version": "1.2.3"}


@pytest.mark.parametrize("docker", [False, True])
def test_a_multi_arch_index_lists_one_manifest_per_platform(pusher, registry_repo, docker):
    p = pusher("anonymous")
    p.push_index(
        registry_repo, "2.0.0", architectures=("amd64", "arm64"), created=CREATED, docker=docker
    )
    _, index = p.manifest(registry_repo, "2.0.0")
    assert index["mediaType"] == (DOCKER_LIST if docker else OCI_INDEX)
    platforms = [m["platform"]["architecture"] for m in index["manifests"]]
    assert platforms == ["amd64", "arm64"]
    arm = p.config(registry_repo, index["manifests"][1]["digest"])
    assert arm["architecture"] == "arm64"
    assert arm["created"] == "2024-03-01T12:30:00Z"


def test_a_tag_can_be_repointed_and_deleted(pusher, registry_repo):
    p = pusher("anonymous")
    old = p.push_image(registry_repo, "1.0.0", created=CREATED)
    new = p.push_image(registry_repo, "1.0.1", created=CREATED + dt.timedelta(days=1))
    p.retag(registry_repo, "1.0.0", "stable")
    assert p.manifest(registry_repo, "stable")[0] == old
    p.retag(registry_repo, "1.0.1", "stable")
    assert p.manifest(registry_repo, "stable")[0] == new
    p.delete(registry_repo, "1.0.0")
    assert sorted(p.tags(registry_repo)) == ["1.0.1", "stable"]


def test_basic_auth_rejects_bad_credentials(testenv, pusher, registry_repo):
    reg = testenv.registries["basic"]
    pusher("basic").push_image(registry_repo, "1.0.0")
    url = f"{reg.url}/v2/{registry_repo}/tags/list"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, auth=(reg.user, "wrong-password")).status_code == 401
    assert httpx.get(url, auth=("someone-else", reg.password)).status_code == 401
    ok = httpx.get(url, auth=(reg.user, reg.password))
    assert ok.status_code == 200
    assert ok.json()["tags"] == ["1.0.0"]


def token(reg, repo, actions, auth):
    return httpx.get(
        reg.token_realm,
        params={"service": "conveyor-test-registry", "scope": f"repository:{repo}:{actions}"},
        auth=auth,
    )


def test_token_auth_rejects_bad_credentials_and_forged_tokens(testenv, pusher, registry_repo):
    reg = testenv.registries["token"]
    pusher("token").push_image(registry_repo, "1.0.0")
    url = f"{reg.url}/v2/{registry_repo}/tags/list"

    challenge = httpx.get(url)
    assert challenge.status_code == 401
    assert challenge.headers["WWW-Authenticate"].startswith(f'Bearer realm="{reg.token_realm}"')

    assert token(reg, registry_repo, "pull", (reg.user, "wrong-password")).status_code == 401

    forged = sign_token(
        ec.generate_private_key(ec.SECP256R1()),
        subject=reg.user,
        service="conveyor-test-registry",
        access=[{"type": "repository", "name": registry_repo, "actions": ["pull"]}],
    )
    assert httpx.get(url, headers={"Authorization": f"Bearer {forged}"}).status_code == 401

    good = token(reg, registry_repo, "pull", (reg.user, reg.password)).json()["token"]
    listed = httpx.get(url, headers={"Authorization": f"Bearer {good}"})
    assert listed.status_code == 200
    assert listed.json()["tags"] == ["1.0.0"]


def test_an_anonymous_token_can_pull_but_not_push(testenv, pusher, registry_repo):
    reg = testenv.registries["token"]
    pusher("token").push_image(registry_repo, "1.0.0")
    anonymous = token(reg, registry_repo, "pull,push", None).json()["token"]
    headers = {"Authorization": f"Bearer {anonymous}"}
    assert httpx.get(f"{reg.url}/v2/{registry_repo}/tags/list", headers=headers).status_code == 200
    upload = httpx.post(f"{reg.url}/v2/{registry_repo}/blobs/uploads/", headers=headers)
    assert upload.status_code == 401


def test_pushing_with_wrong_credentials_fails(testenv, registry_repo):
    reg = testenv.registries["basic"]
    wrong = ImagePusher(
        RegistryEndpoint(name="basic", host=reg.host, user=reg.user, password="nope")
    )
    try:
        with pytest.raises(httpx.HTTPStatusError) as excinfo:
            wrong.push_image(registry_repo, "1.0.0")
        assert excinfo.value.response.status_code == 401
    finally:
        wrong.close()
