"""conveyor's automation config: what it reads, and the errors that name the key and the problem."""

from datetime import UTC, datetime, timedelta

import pytest

from conveyor.core.commit_message import DEFAULT_TEMPLATE
from conveyor.core.config import (
    AutomationConfig,
    CommitIdentity,
    ConfigError,
    CredentialSource,
    RegistryConfig,
    SigningConfig,
    parse_config,
    parse_config_text,
)
from conveyor.core.config_policies import FLUX_DEFAULT_EXCLUSIONS
from conveyor.core.policy import PatternKind, SortKind, SortOrder, TagCandidate, select

NOW = datetime(2024, 6, 1, tzinfo=UTC)
FULL = """
registries:
  - host: Registry.Example.com
    credentials: {dockerConfig: /etc/conveyor/docker.json}
  - host: 127.0.0.1:5000
    insecure: true
    credentials: {usernameEnv: REG_USER, passwordEnv: REG_PASSWORD}
dockerConfigs: [/root/.docker/config.json]
imagePolicies:
  flux-system:app:
    image: registry.example.com/team/app
    policy: {semver: {range: "~1.2"}}
  flux-system:builds:
    filterTags: {pattern: '^main-[a-f0-9]+-(?P<ts>[0-9]+)$', extract: '$ts'}
    policy: {numerical: {order: asc}}
    exclusionList: ['^main-dead']
    minAge: 10m
  apps:names:
    policy: {alphabetical: {order: desc}}
  apps:newest:
    policy: {newest: {}}
  apps:short:
    policy: "glob:1.* alphabetical:asc"
defaultPolicy: semver:*
commit:
  template: "$subject\\n\\n$trailers\\n"
  author: {name: Release Bot, email: bot@example.com}
  committer: {name: CI, email: ci@example.com}
  signing: {gpg: {keyId: ABCD1234, home: /gnupg}}
"""


def problems_of(text: str) -> dict[str, str]:
    with pytest.raises(ConfigError) as raised:
        parse_config_text(text)
    return {problem.path: problem.message for problem in raised.value.problems}


def test_an_empty_config_is_the_default_config():
    assert parse_config_text("") == AutomationConfig()
    assert parse_config({}) == AutomationConfig()
    assert AutomationConfig().commit.template == DEFAULT_TEMPLATE


def test_a_full_config_is_read_into_plain_data():
    config = parse_config_text(FULL)
    assert config.registries == (
        RegistryConfig(
            "registry.example.com",
            False,
            CredentialSource(docker_config="/etc/conveyor/docker.json"),
        ),
        RegistryConfig(
            "127.0.0.1:5000",
            True,
            CredentialSource(username_env="REG_USER", password_env="REG_PASSWORD"),
        ),
    )
    assert config.insecure_hosts == {"127.0.0.1:5000"}
    assert config.docker_configs == ("/root/.docker/config.json",)
    assert config.setter_repositories == {"flux-system:app": "registry.example.com/team/app"}
    assert str(config.default_policy) == "semver:*"
    assert config.commit.author == CommitIdentity("Release Bot", "bot@example.com")
    assert config.commit.committer == CommitIdentity("CI", "ci@example.com")
    assert config.commit.signing == SigningConfig("gpg", "ABCD1234", "/gnupg")
    assert config.commit.template == "$subject\n\n$trailers\n"


def test_image_policies_mirror_flux_v2_image_policy_fields():
    policies = parse_config_text(FULL).setter_policies
    app = policies["flux-system:app"]
    assert app.sort is SortKind.SEMVER and app.semver_range.text == "~1.2"
    builds = policies["flux-system:builds"]
    assert (builds.sort, builds.extract, builds.min_age) == (
        SortKind.NUMERICAL,
        "ts",
        timedelta(minutes=10),
    )
    assert builds.pattern.kind is PatternKind.REGEX
    assert [e.text for e in builds.excludes] == ["^main-dead"]
    assert policies["apps:names"].order is SortOrder.DESC
    assert policies["apps:newest"].sort is SortKind.NEWEST
    assert policies["apps:short"].sort is SortKind.ALPHABETICAL


def test_a_configured_policy_chooses_tags_like_flux_would():
    builds = parse_config_text(FULL).setter_policies["flux-system:builds"]
    tags = ["main-0abc-100", "main-dead-999", "main-1def-250", "latest", "main-2aaa-99"]
    built = NOW - timedelta(hours=1)  # older than the policy's minimum age
    selection = select(
        builds, [TagCandidate(t, created=built) for t in tags], current_tag="main-0abc-100", now=NOW
    )
    assert selection.chosen == "main-1def-250"  # main-dead is excluded, latest does not match


def test_without_an_exclusion_list_signature_tags_are_excluded_as_in_flux():
    config = parse_config_text("imagePolicies:\n  a:b:\n    policy: {alphabetical: {}}\n")
    policy = config.setter_policies["a:b"]
    assert [e.text for e in policy.excludes] == list(FLUX_DEFAULT_EXCLUSIONS)
    selection = select(
        policy, [TagCandidate("a"), TagCandidate("zz.sig")], current_tag="a", now=NOW
    )
    assert selection.chosen == "a"


def test_insecure_hosts_can_be_added_without_losing_credentials():
    config = parse_config_text(FULL).with_insecure_hosts(["REGISTRY.example.com", "other:5000"])
    assert config.insecure_hosts == {"127.0.0.1:5000", "registry.example.com", "other:5000"}
    by_host = {r.host: r for r in config.registries}
    assert by_host["registry.example.com"].credentials.docker_config == "/etc/conveyor/docker.json"


def test_every_problem_is_reported_at_once_with_its_key_path():
    found = problems_of(
        """
registries:
  - host: https://registry.example.com
  - {insecure: "yes"}
imagePolicies:
  no-colon:
    policy: {semver: {range: "~1.2"}}
  flux-system:app:
    image: registry.example.com/app:1.0
    policy: {semver: {}}
    minAge: soon
  flux-system:two:
    policy: {semver: {range: "~1"}, numerical: {}}
  flux-system:order:
    policy: {numerical: {order: up}}
  flux-system:none: {}
defaultPolicy: "tags:latest"
commit:
  template: "$subject $oops"
  author: {name: bot}
  signing: {ssh: {privateKey: /k}, gpg: {keyId: X}}
colour: blue
"""
    )
    assert found == {
        "colour": found["colour"],
        "registries[0].host": found["registries[0].host"],
        "registries[1].host": "is required",
        "registries[1].insecure": "expected true or false, got text",
        "imagePolicies.no-colon": found["imagePolicies.no-colon"],
        'imagePolicies."flux-system:app".image': (
            "names an image repository, without a tag or digest"
        ),
        'imagePolicies."flux-system:app".policy.semver.range': "is required",
        'imagePolicies."flux-system:app".minAge': found['imagePolicies."flux-system:app".minAge'],
        'imagePolicies."flux-system:two".policy': (
            "give exactly one of semver, numerical, alphabetical, newest"
        ),
        'imagePolicies."flux-system:order".policy.numerical.order': (
            "is asc (the highest wins) or desc"
        ),
        'imagePolicies."flux-system:none".policy': found['imagePolicies."flux-system:none".policy'],
        "defaultPolicy": found["defaultPolicy"],
        "commit.template": found["commit.template"],
        "commit.author.email": "is required",
        "commit.signing": "give exactly one of ssh: {privateKey} or gpg: {keyId, home}",
    }
    assert "unknown key" in found["colour"]
    assert "no scheme" in found["registries[0].host"]
    assert "NS:NAME" in found["imagePolicies.no-colon"]
    assert "10m" in found['imagePolicies."flux-system:app".minAge']
    assert "is required" in found['imagePolicies."flux-system:none".policy']
    assert "unknown policy" in found["defaultPolicy"]
    assert "oops" in found["commit.template"]


def test_the_error_message_lists_the_source_and_each_problem():
    with pytest.raises(ConfigError) as raised:
        parse_config_text("registries: {}\ncommit: []\n", source="conveyor.yaml")
    assert str(raised.value) == (
        "conveyor.yaml: 2 problems:\n"
        "  registries: expected a list, got a mapping\n"
        "  commit: expected a mapping, got a list"
    )


def test_inline_secrets_are_refused_and_never_repeated_in_errors():
    found = problems_of(
        "registries:\n"
        "  - host: registry.example.com\n"
        "    credentials: {username: robot, password: hunter2-secret, usernameEnv: 12}\n"
    )
    text = "\n".join(f"{path}: {message}" for path, message in found.items())
    assert "hunter2-secret" not in text and "robot" not in text
    password = found["registries[0].credentials.password"]
    assert "passwordEnv" in password and "not read from the config" in password
    assert "usernameEnv" in found["registries[0].credentials.username"]
    assert found["registries[0].credentials.usernameEnv"].startswith("expected text, got a number")


def test_values_of_unknown_keys_are_never_quoted():
    found = problems_of("commit:\n  author: {name: a, email: a@b, token: s3cr3t-value}\n")
    assert "s3cr3t-value" not in str(found)
    assert "commit.author.token" in found


@pytest.mark.parametrize(
    ("credentials", "problem"),
    [
        ("{usernameEnv: USER}", "usernameEnv and passwordEnv go together"),
        ("{dockerConfig: /d, usernameEnv: U, passwordEnv: P}", "not both"),
        ("{}", "names no credentials"),
        ("{usernameEnv: 'not a name', passwordEnv: P}", "not an environment variable name"),
    ],
)
def test_credential_sources_must_be_complete_and_unambiguous(credentials, problem):
    found = problems_of(f"registries:\n  - host: r.example.com\n    credentials: {credentials}\n")
    assert any(problem in message for message in found.values()), found


def test_registries_listed_twice_are_an_error():
    found = problems_of("registries: [{host: r.example.com}, {host: R.example.com}]")
    assert "listed twice" in found["registries[1].host"]


def test_a_string_policy_does_not_take_filter_tags():
    found = problems_of(
        "imagePolicies:\n  a:b:\n    policy: semver:~1\n    filterTags: {pattern: '^v'}\n"
    )
    assert "filterTags goes with a structured policy" in found['imagePolicies."a:b".policy']


def test_ssh_signing_and_an_email_that_is_not_one():
    config = parse_config_text("commit: {signing: {ssh: {privateKey: ~/.ssh/signing}}}")
    assert config.commit.signing == SigningConfig("ssh", "~/.ssh/signing")
    found = problems_of("commit: {author: {name: bot, email: not-an-address}}")
    assert "not an email address" in found["commit.author.email"]


def test_text_that_is_not_yaml_says_where():
    found = problems_of("registries: [\n  - host: x\n")
    assert list(found) == [""]
    assert "not YAML at line" in found[""]
