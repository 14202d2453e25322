"""The registry client against the real registries of the test environment."""

import base64
import datetime as dt
import json

import pytest

from conveyor.adapters.registry import (
    AuthError,
    Credentials,
    DockerConfig,
    NotFound,
    Platform,
    RegistryClient,
    RegistryUnavailable,
    RetryPolicy,
    StaticCredentials,
)
from conveyor.adapters.registry.manifests import (
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    OCI_INDEX,
    OCI_MANIFEST,
)

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

CREATED = dt.datetime(2024, 3, 1, 12, 30, 0, tzinfo=dt.UTC)


def b64(text):
    return base64.b64encode(text.encode()).decode()


async def test_anonymous_registry_lists_tags_and_heads_manifests(
    testenv, pusher, registry_repo, insecure_hosts
):
    endpoint = testenv.registries["anonymous"]
    digest = pusher("anonymous").push_image(registry_repo, "1.2.3")
    name = f"{endpoint.host}/{registry_repo}"
    async with RegistryClient(insecure_hosts=insecure_hosts) as client:
        await client.ping(endpoint.host)
        listing = await client.list_tags(name)
        info = await client.head_manifest(name, "1.2.3")
        manifest = await client.get_manifest(name, "1.2.3")
    assert listing.tags == ("1.2.3",)
    assert str(listing.repository) == name
    assert info.digest == digest == manifest.info.digest
    assert info.media_type == OCI_MANIFEST == manifest.info.media_type


@pytest.mark.parametrize("registry", ["basic", "token"])
async def test_good_credentials_are_accepted(
    testenv, pusher, registry_repo, insecure_hosts, good_credentials, registry
):
    endpoint = testenv.registries[registry]
    digest = pusher(registry).push_image(registry_repo, "1.0.0")
    name = f"{endpoint.host}/{registry_repo}"
    async with RegistryClient(
        credentials=[good_credentials], insecure_hosts=insecure_hosts
    ) as client:
        await client.ping(endpoint.host)
        assert (await client.list_tags(name)).tags == ("1.0.0",)
        assert (await client.head_manifest(name, "1.0.0")).digest == digest


@pytest.mark.parametrize("registry", ["basic", "token"])
async def test_bad_credentials_say_where_they_came_from_but_never_the_secret(
    testenv, pusher, registry_repo, insecure_hosts, registry
):
    endpoint = testenv.registries[registry]
    pusher(registry).push_image(registry_repo, "1.0.0")
    wrong = StaticCredentials(
        {endpoint.host: Credentials(endpoint.user, "wr0ng-s3cret", source="the test's wrong pair")}
    )
    async with RegistryClient(credentials=[wrong], insecure_hosts=insecure_hosts) as client:
        with pytest.raises(AuthError) as raised:
            await client.list_tags(f"{endpoint.host}/{registry_repo}")
    assert raised.value.source == "the test's wrong pair"
    assert "the test's wrong pair" in str(raised.value)
    assert "wr0ng-s3cret" not in str(raised.value)
    assert "wr0ng-s3cret" not in repr(raised.value)


async def test_basic_auth_without_credentials_is_refused_as_anonymous(
    testenv, pusher, registry_repo, insecure_hosts
):
    endpoint = testenv.registries["basic"]
    pusher("basic").push_image(registry_repo, "1.0.0")
    async with RegistryClient(insecure_hosts=insecure_hosts) as client:
        with pytest.raises(AuthError, match="needs a username and password") as raised:
            await client.list_tags(f"{endpoint.host}/{registry_repo}")
    assert raised.value.source.startswith("anonymous")


async def test_the_token_registry_gives_anonymous_pull_tokens_cached_per_scope(
    testenv, pusher, registry_repo, insecure_hosts
):
    endpoint = testenv.registries["token"]
    pusher("token").push_image(registry_repo, "1.0.0")
    name = f"{endpoint.host}/{registry_repo}"
    async with RegistryClient(insecure_hosts=insecure_hosts) as client:
        for _ in range(3):
            assert (await client.list_tags(name)).tags == ("1.0.0",)
        await client.head_manifest(name, "1.0.0")
        counter = client.counter
    # One 401 to learn the challenge, one token for the scope, then the token is reused.
    assert counter.total(operation="token") == 1
    assert counter.total(host=endpoint.host, status="4xx") == 1
    assert counter.total(host=endpoint.host, status="2xx") == 4


async def test_more_tags_than_a_page_are_all_listed(testenv, pusher, registry_repo, insecure_hosts):
    endpoint = testenv.registries["anonymous"]
    p = pusher("anonymous")
    p.push_image(registry_repo, "t00")
    expected = {"t00"}
    for i in range(1, 13):
        p.retag(registry_repo, "t00", f"t{i:02d}")
        expected.add(f"t{i:02d}")
    async with RegistryClient(insecure_hosts=insecure_hosts, page_size=5) as client:
        listing = await client.list_tags(f"{endpoint.host}/{registry_repo}")
    assert set(listing.tags) == expected
    assert len(listing.tags) == 13
    assert listing.pages >= 1


@pytest.mark.parametrize("docker", [False, True])
async def test_an_index_is_resolved_to_the_configured_platform(
    testenv, pusher, registry_repo, insecure_hosts, docker
):
    endpoint = testenv.registries["anonymous"]
    digest = pusher("anonymous").push_index(
        registry_repo,
        "2.0.0",
        architectures=("arm64", "amd64"),
        created=CREATED,
        labels={"org.opencontainers.image.version": "2.0.0"},
        docker=docker,
    )
    name = f"{endpoint.host}/{registry_repo}"
    async with RegistryClient(insecure_hosts=insecure_hosts) as client:
        info = await client.head_manifest(name, "2.0.0")
        default = await client.image_config(name, "2.0.0")
        arm = await client.image_config(name, digest, platform=Platform.parse("linux/arm64"))
        with pytest.raises(NotFound, match="linux/s390x"):
            await client.image_config(name, "2.0.0", platform=Platform.parse("linux/s390x"))
    assert info.digest == digest
    assert info.media_type == (DOCKER_MANIFEST_LIST if docker else OCI_INDEX)
    assert info.is_index
    assert str(default.platform) == "linux/amd64"
    assert str(arm.platform) == "linux/arm64"
    assert default.created == CREATED
    assert default.labels == {"org.opencontainers.image.version": "2.0.0"}


async def test_config_created_time_and_labels_of_a_docker_v2_image(
    testenv, pusher, registry_repo, insecure_hosts
):
    endpoint = testenv.registries["anonymous"]
    labels = {"org.opencontainers.image.created": "2024-02-01T00:00:00Z", "team": "blue"}
    pusher("anonymous").push_image(
        registry_repo, "1.0.0", created=CREATED, labels=labels, docker=True
    )
    name = f"{endpoint.host}/{registry_repo}"
    async with RegistryClient(insecure_hosts=insecure_hosts) as client:
        info = await client.head_manifest(name, "1.0.0")
        config = await client.image_config(name, "1.0.0")
    assert info.media_type == DOCKER_MANIFEST
    assert config.created == CREATED
    assert config.labels == labels


async def test_missing_tags_and_repositories_are_not_found(
    testenv, pusher, registry_repo, insecure_hosts
):
    endpoint = testenv.registries["anonymous"]
    pusher("anonymous").push_image(registry_repo, "1.0.0")
    async with RegistryClient(insecure_hosts=insecure_hosts) as client:
        with pytest.raises(NotFound, match=r"9\.9\.9"):
            await client.head_manifest(f"{endpoint.host}/{registry_repo}", "9.9.9")
        with pytest.raises(NotFound):
            await client.list_tags(f"{endpoint.host}/{registry_repo}-missing")


@pytest.mark.parametrize("registry", ["basic", "token"])
async def test_credentials_from_a_docker_config_file(
    testenv, pusher, registry_repo, insecure_hosts, tmp_path, registry
):
    endpoint = testenv.registries[registry]
    pusher(registry).push_image(registry_repo, "1.0.0")
    path = tmp_path / "config.json"
    path.write_text(
        json.dumps(
            {
                "auths": {
                    f"http://{endpoint.host}": {"auth": b64(f"{endpoint.user}:{endpoint.password}")}
                }
            }
        )
    )
    async with RegistryClient(
        credentials=[DockerConfig.from_file(path)], insecure_hosts=insecure_hosts
    ) as client:
        assert (await client.list_tags(f"{endpoint.host}/{registry_repo}")).tags == ("1.0.0",)


@pytest.mark.parametrize("registry", ["basic", "token"])
async def test_credentials_from_a_kubernetes_pull_secret(
    testenv, pusher, registry_repo, insecure_hosts, registry
):
    endpoint = testenv.registries[registry]
    pusher(registry).push_image(registry_repo, "1.0.0")
    dockerconfig = {
        "auths": {endpoint.host: {"username": endpoint.user, "password": endpoint.password}}
    }
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/dockerconfigjson",
        "metadata": {"namespace": "apps", "name": "regcred"},
        "data": {".dockerconfigjson": b64(json.dumps(dockerconfig))},
    }
    async with RegistryClient(
        credentials=[DockerConfig.from_pull_secret(secret)], insecure_hosts=insecure_hosts
    ) as client:
        assert (await client.list_tags(f"{endpoint.host}/{registry_repo}")).tags == ("1.0.0",)


async def test_a_wrong_pull_secret_is_named_in_the_error(
    testenv, pusher, registry_repo, insecure_hosts
):
    endpoint = testenv.registries["basic"]
    pusher("basic").push_image(registry_repo, "1.0.0")
    secret = {
        "metadata": {"namespace": "apps", "name": "stale"},
        "stringData": {
            ".dockerconfigjson": json.dumps(
                {"auths": {endpoint.host: {"auth": b64(f"{endpoint.user}:old-pa55word")}}}
            )
        },
    }
    async with RegistryClient(
        credentials=[DockerConfig.from_pull_secret(secret)], insecure_hosts=insecure_hosts
    ) as client:
        with pytest.raises(AuthError, match="pull secret apps/stale") as raised:
            await client.list_tags(f"{endpoint.host}/{registry_repo}")
    assert "old-pa55word" not in str(raised.value)


async def test_plain_http_is_only_used_for_hosts_configured_insecure(testenv):
    endpoint = testenv.registries["anonymous"]
    async with RegistryClient(retry=RetryPolicy(max_attempts=1), timeout=5.0) as client:
        # Not configured insecure: https is tried against a plain-http server and fails.
        with pytest.raises(RegistryUnavailable, match=endpoint.host):
            await client.ping(endpoint.host)
        assert client.counter.total(host=endpoint.host, status="error") == 1
