"""From the automation config to the adapters: credentials, insecure hosts, commit settings."""

import base64
import json
from pathlib import Path

import pytest

from conveyor.adapters.git import DEFAULT_IDENTITY, GpgSigningKey, Identity, SshSigningKey
from conveyor.adapters.registry import CredentialsError
from conveyor.core.config import parse_config_text
from conveyor.daemon.automation_setup import (
    AutomationSetupError,
    commit_settings,
    registry_credentials,
)

pytestmark = pytest.mark.anyio


def docker_config(path: Path, host: str, user: str, password: str) -> Path:
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    path.write_text(json.dumps({"auths": {host: {"auth": auth}}}))
    return path


async def lookup(providers, host):
    for provider in providers:
        found = await provider.lookup(host)
        if found is not None:
            return found
    return None


async def test_environment_credentials_and_per_registry_docker_configs_answer_their_host(
    tmp_path,
):
    own = docker_config(tmp_path / "own.json", "a.example.com", "alice", "pw-a")
    shared = docker_config(tmp_path / "shared.json", "c.example.com", "carol", "pw-c")
    config = parse_config_text(
        "registries:\n"
        f"  - {{host: a.example.com, credentials: {{dockerConfig: {own}}}}}\n"
        "  - {host: b.example.com, credentials: {usernameEnv: B_USER, passwordEnv: B_PASS}}\n"
        f"dockerConfigs: [{shared}]\n"
    )
    providers = registry_credentials(config, environ={"B_USER": "bob", "B_PASS": "pw-b"})
    a = await lookup(providers, "a.example.com")
    b = await lookup(providers, "b.example.com")
    c = await lookup(providers, "c.example.com")
    assert (a.username, a.password) == ("alice", "pw-a")
    assert (b.username, b.password) == ("bob", "pw-b")
    assert b.source == "environment variables B_USER/B_PASS"
    assert (c.username, c.password) == ("carol", "pw-c")
    assert "pw-b" not in repr(providers) and "pw-b" not in repr(b)
    # a.example.com's own docker config does not answer for another host.
    docker_config(own, "d.example.com", "dave", "pw-d")
    providers = registry_credentials(
        parse_config_text(
            f"registries: [{{host: a.example.com, credentials: {{dockerConfig: {own}}}}}]"
        )
    )
    assert await lookup(providers, "d.example.com") is None


def test_an_unset_variable_is_named_and_no_value_is_shown():
    config = parse_config_text(
        "registries:\n"
        "  - {host: b.example.com, credentials: {usernameEnv: B_USER, passwordEnv: B_PASS}}\n"
    )
    with pytest.raises(AutomationSetupError, match="B_PASS") as raised:
        registry_credentials(config, environ={"B_USER": "bob"})
    assert "bob" not in str(raised.value) and "B_USER" not in str(raised.value)


def test_an_unreadable_docker_config_is_a_credentials_error(tmp_path):
    config = parse_config_text(f"dockerConfigs: [{tmp_path / 'missing.json'}]")
    with pytest.raises(CredentialsError, match=r"missing\.json"):
        registry_credentials(config)


def test_commit_settings_come_from_the_config():
    assert commit_settings(parse_config_text("")).author == DEFAULT_IDENTITY
    settings = commit_settings(
        parse_config_text(
            "commit:\n"
            "  author: {name: Bot, email: bot@example.com}\n"
            "  committer: {name: CI, email: ci@example.com}\n"
            "  signing: {ssh: {privateKey: /keys/signing}}\n"
        )
    )
    assert settings.author == Identity("Bot", "bot@example.com")
    assert settings.committer == Identity("CI", "ci@example.com")
    assert settings.signing == SshSigningKey(Path("/keys/signing"))
    gpg = commit_settings(parse_config_text("commit: {signing: {gpg: {keyId: ABCD, home: /g}}}"))
    assert gpg.signing == GpgSigningKey("ABCD", home=Path("/g"))
