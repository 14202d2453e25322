"""conveyor's automation config: registries, Flux v2-style image policies, commits. Pure.

The config is YAML (or a mapping already loaded). Nothing here opens a file: paths are kept as
written and the daemon opens them. Every problem is collected and reported at once in one
:class:`ConfigError`, each naming its key path (``imagePolicies."flux-system:app".policy``) and
what is wrong. Secret values are never read from the config: credentials come from a docker
``config.json`` or from environment variables the config names, and no error quotes a credential
value (values of unknown keys are never quoted either)::

    registries:
      - host: registry.example.com
        credentials: {dockerConfig: /etc/conveyor/docker-config.json}
      - host: 127.0.0.1:5000
        insecure: true                      # plain http (only for hosts listed here)
        credentials: {usernameEnv: REGISTRY_USER, passwordEnv: REGISTRY_PASSWORD}
    dockerConfigs: [/root/.docker/config.json]   # tried for every host, after the above
    imagePolicies:                          # for `# {"$imagepolicy": "NS:NAME"}` markers
      flux-system:app:
        image: registry.example.com/team/app     # ImageRepository spec.image
        exclusionList: ['^.*\\.sig$']            # ImageRepository spec.exclusionList (regexes)
        filterTags: {pattern: '^main-(?P<ts>[0-9]+)$', extract: '$ts'}   # ImagePolicy spec
        policy: {numerical: {order: asc}}   # or semver: {range: ~1.2}, alphabetical: {order},
        minAge: 10m                         # newest: {}, or a string such as "semver:~1.2"
    defaultPolicy: semver:*                 # for automated containers with no tag policy
    commit:
      template: "$subject\\n\\n$summary\\n\\n$trailers\\n"
      author: {name: conveyor, email: conveyor@example.com}
      committer: {name: ci, email: ci@example.com}
      signing: {ssh: {privateKey: /keys/signing}}     # or gpg: {keyId: ABCD, home: /gnupg}

As in Flux v2, an image policy with no ``exclusionList`` excludes ``^.*\\.sig$`` (signature tags).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml

from conveyor.core.commit_message import DEFAULT_TEMPLATE, CommitTemplateError, check_template
from conveyor.core.config_policies import read_image_policy, read_policy
from conveyor.core.config_reader import ConfigProblem, Reader
from conveyor.core.policy import TagPolicy

__all__ = [
    "AutomationConfig",
    "CommitConfig",
    "CommitIdentity",
    "ConfigError",
    "ConfigProblem",
    "CredentialSource",
    "ImagePolicyConfig",
    "RegistryConfig",
    "SigningConfig",
    "parse_config",
    "parse_config_text",
]

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_HOST = re.compile(r"[A-Za-z0-9.-]+(?::[0-9]+)?|\[[0-9A-Fa-f:.]+\](?::[0-9]+)?")
_INLINE_SECRETS = ("password", "token", "auth", "identitytoken", "secret")


class ConfigError(ValueError):
    """A config that cannot be used; ``problems`` lists every key path and what is wrong."""

    def __init__(self, source: str, problems: Sequence[ConfigProblem]) -> None:
        self.source = source
        self.problems = tuple(problems)
        count = len(self.problems)
        lines = "\n".join(f"  {problem}" for problem in self.problems)
        super().__init__(f"{source}: {count} problem{'s' if count != 1 else ''}:\n{lines}")


@dataclass(frozen=True)
class CredentialSource:
    """Where a registry's credentials come from; never the credentials themselves."""

    docker_config: str | None = None
    username_env: str | None = None
    password_env: str | None = None


@dataclass(frozen=True)
class RegistryConfig:
    host: str
    """As written, lowercased (``registry.example.com``, ``127.0.0.1:5000``)."""
    insecure: bool = False
    credentials: CredentialSource | None = None


@dataclass(frozen=True)
class ImagePolicyConfig:
    """The policy for ``$imagepolicy`` markers naming ``name`` (``NS:NAME``)."""

    name: str
    policy: TagPolicy
    image: str | None = None
    """The image repository; None to take it from the markers that name the policy."""


@dataclass(frozen=True)
class CommitIdentity:
    name: str
    email: str


@dataclass(frozen=True)
class SigningConfig:
    kind: Literal["ssh", "gpg"]
    key: str
    """The SSH private key path, or the GPG key id."""
    home: str | None = None
    """For GPG: the keyring directory (default: GnuPG's own)."""


@dataclass(frozen=True)
class CommitConfig:
    template: str = DEFAULT_TEMPLATE
    author: CommitIdentity | None = None
    committer: CommitIdentity | None = None
    signing: SigningConfig | None = None


@dataclass(frozen=True)
class AutomationConfig:
    registries: tuple[RegistryConfig, ...] = ()
    docker_configs: tuple[str, ...] = ()
    image_policies: tuple[ImagePolicyConfig, ...] = ()
    default_policy: TagPolicy | None = None
    commit: CommitConfig = field(default_factory=CommitConfig)

    @property
    def setter_policies(self) -> dict[str, TagPolicy]:
        """``NS:NAME`` -> policy, as :func:`conveyor.core.plan.plan_automation` takes them."""
        return {p.name: p.policy for p in self.image_policies}

    @property
    def setter_repositories(self) -> dict[str, str]:
        """``NS:NAME`` -> image repository, for the policies that name one."""
        return {p.name: p.image for p in self.image_policies if p.image is not None}

    @property
    def insecure_hosts(self) -> frozenset[str]:
        return frozenset(r.host for r in self.registries if r.insecure)

    def with_insecure_hosts(self, hosts: Sequence[str]) -> AutomationConfig:
        """This config with ``hosts`` added as insecure registries (e.g. from the command line)."""
        known = {r.host: r for r in self.registries}
        for host in hosts:
            lowered = host.lower()
            existing = known.get(lowered)
            known[lowered] = RegistryConfig(
                lowered, True, existing.credentials if existing else None
            )
        return AutomationConfig(
            registries=tuple(known.values()),
            docker_configs=self.docker_configs,
            image_policies=self.image_policies,
            default_policy=self.default_policy,
            commit=self.commit,
        )


def parse_config_text(text: str, *, source: str = "config") -> AutomationConfig:
    """The config in YAML ``text``; raises :class:`ConfigError` (``source`` names the file)."""
    try:
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "the file"
        problem = getattr(e, "problem", None) or "cannot be parsed"
        raise ConfigError(source, [ConfigProblem("", f"not YAML at {where}: {problem}")]) from e
    return parse_config(data, source=source)


def parse_config(data: object, *, source: str = "config") -> AutomationConfig:
    """The config in ``data`` (a loaded YAML document; None is the empty config)."""
    reader = Reader()
    if data is None:
        return AutomationConfig()
    top = reader.mapping(data, "")
    if top is None:
        raise ConfigError(source, reader.problems)
    reader.known_keys(
        top, "", {"registries", "dockerConfigs", "imagePolicies", "defaultPolicy", "commit"}
    )
    config = AutomationConfig(
        registries=_registries(reader, top.get("registries")),
        docker_configs=tuple(reader.strings(top.get("dockerConfigs"), "dockerConfigs")),
        image_policies=_image_policies(reader, top.get("imagePolicies")),
        default_policy=(
            read_policy(reader, top["defaultPolicy"], "defaultPolicy")
            if top.get("defaultPolicy") is not None
            else None
        ),
        commit=_commit(reader, top.get("commit")),
    )
    if reader.problems:
        raise ConfigError(source, reader.problems)
    return config


def _registries(reader: Reader, node: object) -> tuple[RegistryConfig, ...]:
    found: dict[str, RegistryConfig] = {}
    for path, item in reader.items(node, "registries"):
        entry = reader.mapping(item, path)
        if entry is None:
            continue
        reader.known_keys(entry, path, {"host", "insecure", "credentials"})
        host = reader.string(entry.get("host"), f"{path}.host", required=True)
        insecure = reader.boolean(entry.get("insecure", False), f"{path}.insecure")
        credentials = _credentials(reader, entry.get("credentials"), f"{path}.credentials")
        if host is None:
            continue
        if "://" in host or not _HOST.fullmatch(host):
            reader.problem(
                f"{path}.host",
                f"{host!r} is not a registry host: write HOST or HOST:PORT, no scheme or path",
            )
            continue
        if host.lower() in found:
            reader.problem(f"{path}.host", f"{host} is listed twice; merge the two entries")
            continue
        found[host.lower()] = RegistryConfig(host.lower(), bool(insecure), credentials)
    return tuple(found.values())


def _credentials(reader: Reader, node: object, path: str) -> CredentialSource | None:
    if node is None:
        return None
    entry = reader.mapping(node, path)
    if entry is None:
        return None
    for key in entry:
        if str(key).lower() in _INLINE_SECRETS or str(key).lower() == "username":
            reader.problem(
                f"{path}.{key}",
                "secrets are not read from the config file; put the value in an environment "
                f"variable and name it with {'usernameEnv' if key == 'username' else 'passwordEnv'}"
                ", or use dockerConfig",
            )
    reader.known_keys(
        {k: v for k, v in entry.items() if str(k).lower() not in (*_INLINE_SECRETS, "username")},
        path,
        {"dockerConfig", "usernameEnv", "passwordEnv"},
    )
    docker_config = reader.string(entry.get("dockerConfig"), f"{path}.dockerConfig")
    user_env = reader.string(entry.get("usernameEnv"), f"{path}.usernameEnv")
    password_env = reader.string(entry.get("passwordEnv"), f"{path}.passwordEnv")
    for key, name in (("usernameEnv", user_env), ("passwordEnv", password_env)):
        if name is not None and not _ENV_NAME.fullmatch(name):
            reader.problem(f"{path}.{key}", "is not an environment variable name")
    if (user_env is None) != (password_env is None):
        reader.problem(path, "usernameEnv and passwordEnv go together; give both")
    if docker_config is not None and user_env is not None:
        reader.problem(path, "give either dockerConfig or usernameEnv/passwordEnv, not both")
    if docker_config is None and user_env is None and password_env is None:
        reader.problem(path, "names no credentials: give dockerConfig or usernameEnv/passwordEnv")
        return None
    return CredentialSource(docker_config, user_env, password_env)


def _image_policies(reader: Reader, node: object) -> tuple[ImagePolicyConfig, ...]:
    if node is None:
        return ()
    entries = reader.mapping(node, "imagePolicies")
    policies: list[ImagePolicyConfig] = []
    for name, item in (entries or {}).items():
        path = f"imagePolicies.{Reader.key(str(name))}"
        read = read_image_policy(reader, str(name), item, path)
        if read is not None:
            policy, image = read
            policies.append(ImagePolicyConfig(str(name), policy, image))
    return tuple(policies)


def _commit(reader: Reader, node: object) -> CommitConfig:
    if node is None:
        return CommitConfig()
    entry = reader.mapping(node, "commit")
    if entry is None:
        return CommitConfig()
    reader.known_keys(entry, "commit", {"template", "author", "committer", "signing"})
    template = (
        reader.string(entry.get("template"), "commit.template", strip=False) or DEFAULT_TEMPLATE
    )
    try:
        check_template(template)
    except CommitTemplateError as e:
        reader.problem("commit.template", str(e))
    return CommitConfig(
        template=template,
        author=_identity(reader, entry.get("author"), "commit.author"),
        committer=_identity(reader, entry.get("committer"), "commit.committer"),
        signing=_signing(reader, entry.get("signing"), "commit.signing"),
    )


def _identity(reader: Reader, node: object, path: str) -> CommitIdentity | None:
    if node is None:
        return None
    entry = reader.mapping(node, path)
    if entry is None:
        return None
    reader.known_keys(entry, path, {"name", "email"})
    name = reader.string(entry.get("name"), f"{path}.name", required=True)
    email = reader.string(entry.get("email"), f"{path}.email", required=True)
    if email is not None and ("@" not in email or any(c in email for c in "<>\n")):
        reader.problem(f"{path}.email", f"{email!r} is not an email address")
        return None
    return CommitIdentity(name, email) if name is not None and email is not None else None


def _signing(reader: Reader, node: object, path: str) -> SigningConfig | None:
    if node is None:
        return None
    entry = reader.mapping(node, path)
    if entry is None:
        return None
    reader.known_keys(entry, path, {"ssh", "gpg"})
    if len(entry) != 1:
        reader.problem(path, "give exactly one of ssh: {privateKey} or gpg: {keyId, home}")
        return None
    kind: Literal["ssh", "gpg"] = "ssh" if "ssh" in entry else "gpg"
    body: Mapping[str, Any] | None = reader.mapping(entry[kind], f"{path}.{kind}")
    if body is None:
        return None
    if kind == "ssh":
        reader.known_keys(body, f"{path}.ssh", {"privateKey"})
        key = reader.string(body.get("privateKey"), f"{path}.ssh.privateKey", required=True)
        return SigningConfig("ssh", key) if key is not None else None
    reader.known_keys(body, f"{path}.gpg", {"keyId", "home"})
    key_id = reader.string(body.get("keyId"), f"{path}.gpg.keyId", required=True)
    home = reader.string(body.get("home"), f"{path}.gpg.home")
    return SigningConfig("gpg", key_id, home) if key_id is not None else None
