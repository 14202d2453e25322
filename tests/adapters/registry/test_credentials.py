"""Docker config and pull-secret parsing, and credential helpers (no registry involved)."""

import base64
import json

import pytest

from conveyor.adapters.registry import CredentialsError, DockerConfig, StaticCredentials
from conveyor.adapters.registry.credentials import Credentials, first_credentials


@pytest.fixture
def anyio_backend():
    return "asyncio"


def b64(text):
    return base64.b64encode(text.encode()).decode()


@pytest.mark.anyio
async def test_auths_entries_are_found_by_canonical_host_in_both_spellings():
    config = DockerConfig(
        {
            "auths": {
                "https://index.docker.io/v1/": {"auth": b64("hubuser:hubpass")},
                "quay.io": {"username": "q", "password": "qpass"},
                "ghcr.io": {},  # a marker for a credsStore: no secret here
            }
        },
        origin="docker config test",
    )
    hub = await config.lookup("registry-1.docker.io")
    assert (hub.username, hub.password) == ("hubuser", "hubpass")
    assert "docker config test" in hub.source
    assert "https://index.docker.io/v1/" in hub.source
    quay = await config.lookup("quay.io")
    assert (quay.username, quay.password) == ("q", "qpass")
    assert await config.lookup("ghcr.io") is None


def test_a_broken_auth_field_names_the_entry_not_the_secret():
    with pytest.raises(CredentialsError, match=r"auths entry 'quay.io'") as raised:
        DockerConfig({"auths": {"quay.io": {"auth": b64("no-colon-s3cret")}}}, origin="cfg")
    assert "s3cret" not in str(raised.value)


def test_a_config_file_that_is_not_json_is_reported_with_its_path(tmp_path):
    path = tmp_path / "config.json"
    path.write_text("{not json")
    with pytest.raises(CredentialsError, match=str(path)):
        DockerConfig.from_file(path)


@pytest.mark.anyio
async def test_pull_secrets_of_both_types_are_read():
    inner = {"auths": {"registry.example.com": {"auth": b64("u:p")}}}
    new_style = {
        "metadata": {"namespace": "apps", "name": "pull"},
        "type": "kubernetes.io/dockerconfigjson",
        "data": {".dockerconfigjson": b64(json.dumps(inner))},
    }
    legacy = {
        "metadata": {"namespace": "apps", "name": "old"},
        "type": "kubernetes.io/dockercfg",
        "data": {".dockercfg": b64(json.dumps(inner["auths"]))},
    }
    for secret in (new_style, legacy):
        found = await DockerConfig.from_pull_secret(secret).lookup("registry.example.com")
        assert (found.username, found.password) == ("u", "p")
        assert found.source.startswith(f"pull secret apps/{secret['metadata']['name']}")


def test_a_secret_without_docker_config_data_is_refused():
    with pytest.raises(CredentialsError, match="pull secret apps/x"):
        DockerConfig.from_pull_secret({"metadata": {"namespace": "apps", "name": "x"}, "data": {}})


@pytest.fixture
def credential_helper(tmp_path, monkeypatch):
    """A docker-credential-<name> program on PATH that knows one server (stdin protocol)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    helper = bin_dir / "docker-credential-conveyortest"
    helper.write_text(
        "#!/bin/sh\n"
        '[ "$1" = get ] || exit 2\n'
        "read server\n"
        'if [ "$server" = "helped.example.com" ]; then\n'
        '  echo \'{"ServerURL":"helped.example.com","Username":"hu","Secret":"hs"}\'\n'
        "else\n"
        "  echo 'credentials not found in native keychain'; exit 1\n"
        "fi\n"
    )
    helper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{__import__('os').environ['PATH']}")
    return "conveyortest"


@pytest.mark.anyio
async def test_cred_helpers_are_asked_first_and_unknown_servers_fall_back_to_auths(
    credential_helper,
):
    config = DockerConfig(
        {
            "credsStore": credential_helper,
            "auths": {"other.example.com": {"auth": b64("ou:op")}},
        },
        origin="cfg",
    )
    helped = await config.lookup("helped.example.com")
    assert (helped.username, helped.password) == ("hu", "hs")
    assert "docker-credential-conveyortest" in helped.source
    other = await config.lookup("other.example.com")
    assert other.username == "ou"


@pytest.mark.anyio
async def test_a_missing_helper_program_says_which_one():
    config = DockerConfig({"credHelpers": {"x.io": "does-not-exist"}}, origin="cfg")
    with pytest.raises(CredentialsError, match="docker-credential-does-not-exist"):
        await config.lookup("x.io")


@pytest.mark.anyio
async def test_the_first_provider_that_knows_a_host_wins():
    first = StaticCredentials({"a.io": Credentials("first", "1")})
    second = StaticCredentials({"a.io": Credentials("second", "2"), "b.io": Credentials("b", "")})
    assert (await first_credentials([first, second], "a.io")).username == "first"
    assert (await first_credentials([first, second], "b.io")).username == "b"
    assert await first_credentials([first, second], "c.io") is None
    assert "a.io" in repr(second)
    assert "'2'" not in repr(second)
