"""Remotes: where a repository lives, how to authenticate, and how to keep secrets out of sight.

Credentials never travel in the URL or in git's argv (both end up in logs, in ``ps`` and in
error messages). SSH gets a ``GIT_SSH_COMMAND`` naming the deploy key and a strict known_hosts;
HTTP(S) gets an ``Authorization`` header through ``http.<url>.extraHeader``, handed to git as
``GIT_CONFIG_KEY_n``/``GIT_CONFIG_VALUE_n`` environment variables, so only git sees it.
"""

from __future__ import annotations

import base64
import re
import shlex
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from conveyor.adapters.git.errors import RemoteConfigError

# scheme://user:password@  (the password part is what must never be shown)
_URL_WITH_PASSWORD = re.compile(r"(?P<prefix>[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]*):[^@\s/]*@")
# scp-like ssh: user@host:path (no scheme, a colon before any slash)
_SCP_LIKE = re.compile(r"^(?:[^@/\s]+@)?(?P<host>[^:/\s]+):(?!//)(?P<path>.*)$")


def redact(text: str, *, secrets: tuple[str, ...] = ()) -> str:
    """``text`` with URL passwords and every given secret replaced by ``***``."""
    text = _URL_WITH_PASSWORD.sub(r"\g<prefix>:***@", text)
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, "***")
    return text


class RemoteKind(Enum):
    SSH = "ssh"
    HTTP = "http"
    LOCAL = "local"  # a path or file:// URL
    GIT = "git"  # the unauthenticated git:// protocol


@dataclass(frozen=True)
class SshAuth:
    """A deploy key and the known_hosts that pins the server's host key (checked strictly)."""

    private_key: Path
    known_hosts: Path


@dataclass(frozen=True)
class HttpAuth:
    """Basic auth: a username with a password or token (e.g. ``x-access-token`` + a PAT)."""

    username: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class BearerAuth:
    """An ``Authorization: Bearer`` token, for servers that take OAuth tokens that way."""

    token: str = field(repr=False)


Auth = SshAuth | HttpAuth | BearerAuth


def remote_kind(url: str) -> RemoteKind:
    """What kind of remote ``url`` names; raises RemoteConfigError for unknown forms."""
    scheme = urlsplit(url).scheme.lower() if "://" in url else ""
    if scheme in ("ssh", "git+ssh", "ssh+git"):
        return RemoteKind.SSH
    if scheme in ("http", "https"):
        return RemoteKind.HTTP
    if scheme == "file":
        return RemoteKind.LOCAL
    if scheme == "git":
        return RemoteKind.GIT
    if scheme:
        raise RemoteConfigError(
            f"unsupported git URL scheme {scheme!r} in {redact(url)}: use ssh://, https://,"
            " http://, file:// or a path"
        )
    if url.startswith(("/", "./", "../")) or not _SCP_LIKE.match(url):
        return RemoteKind.LOCAL
    return RemoteKind.SSH


@dataclass(frozen=True)
class Remote:
    """A repository URL without credentials, plus the credentials that reach it.

    Build one with :meth:`parse`, which moves ``user:password@`` out of an HTTP URL into
    :class:`HttpAuth`. The repr shows no secret.
    """

    url: str
    auth: Auth | None = None

    def __post_init__(self) -> None:
        if _URL_WITH_PASSWORD.search(self.url):
            raise RemoteConfigError(
                f"the URL {redact(self.url)} carries a password; pass it as HttpAuth instead"
                " (Remote.parse does that) so it never reaches git's argv or the logs"
            )
        kind = self.kind
        if isinstance(self.auth, SshAuth) and kind is not RemoteKind.SSH:
            raise RemoteConfigError(
                f"an SSH deploy key was given for a {kind.value} URL {self.url}"
            )
        if isinstance(self.auth, HttpAuth | BearerAuth) and kind is not RemoteKind.HTTP:
            raise RemoteConfigError(
                f"HTTP credentials were given for a {kind.value} URL {self.url}"
            )

    @classmethod
    def parse(cls, url: str, *, auth: Auth | None = None) -> Remote:
        """A Remote for ``url``; an HTTP URL's ``user:password@`` becomes its HttpAuth."""
        parts = urlsplit(url) if "://" in url else None
        if parts is not None and parts.scheme in ("http", "https") and parts.password is not None:
            if auth is not None:
                raise RemoteConfigError(
                    f"{redact(url)} has credentials in the URL and separate ones were given;"
                    " give them one way"
                )
            auth = HttpAuth(unquote(parts.username or ""), unquote(parts.password))
            host = parts.hostname or ""
            netloc = f"[{host}]" if ":" in host else host
            if parts.port is not None:
                netloc += f":{parts.port}"
            url = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
        if remote_kind(url) is RemoteKind.LOCAL and not url.startswith("file://"):
            url = str(Path(url).resolve())
        return cls(url, auth)

    @property
    def kind(self) -> RemoteKind:
        return remote_kind(self.url)

    def secrets(self) -> tuple[str, ...]:
        """Strings that must be scrubbed from anything git prints."""
        if isinstance(self.auth, HttpAuth):
            return (self.auth.password, _basic_token(self.auth))
        if isinstance(self.auth, BearerAuth):
            return (self.auth.token,)
        return ()

    def git_config(self) -> tuple[tuple[str, str], ...]:
        """Config entries (passed through the environment, never argv) that authenticate."""
        if isinstance(self.auth, HttpAuth):
            header = f"Authorization: Basic {_basic_token(self.auth)}"
        elif isinstance(self.auth, BearerAuth):
            header = f"Authorization: Bearer {self.auth.token}"
        else:
            return ()
        # Scoped to this URL so the header is not sent to any other host git might talk to.
        return ((f"http.{self.url}.extraHeader", header),)

    def git_env(self) -> dict[str, str]:
        """Environment variables that select how git connects (ssh command, no prompts)."""
        if isinstance(self.auth, SshAuth):
            return {"GIT_SSH_COMMAND": ssh_command(self.auth), "GIT_SSH_VARIANT": "ssh"}
        if self.kind is RemoteKind.SSH:
            # No deploy key: still never prompt, never trust an unknown host.
            return {
                "GIT_SSH_COMMAND": "ssh -o BatchMode=yes -o StrictHostKeyChecking=yes",
                "GIT_SSH_VARIANT": "ssh",
            }
        return {}

    def check_files(self) -> None:
        """Raise RemoteConfigError if the deploy key or known_hosts file is missing."""
        if not isinstance(self.auth, SshAuth):
            return
        files = (("deploy key", self.auth.private_key), ("known_hosts", self.auth.known_hosts))
        for what, path in files:
            if not path.is_file():
                raise RemoteConfigError(f"the {what} file {path} for {self.url} does not exist")


def _basic_token(auth: HttpAuth) -> str:
    return base64.b64encode(f"{auth.username}:{auth.password}".encode()).decode("ascii")


def ssh_command(auth: SshAuth) -> str:
    """A ``GIT_SSH_COMMAND``: only this key, no agent, no prompts, host key checked strictly."""
    options = [
        "-F /dev/null",  # no user ssh config can change the options below
        f"-i {shlex.quote(str(auth.private_key))}",
        "-o IdentitiesOnly=yes",
        "-o IdentityAgent=none",
        "-o BatchMode=yes",
        "-o StrictHostKeyChecking=yes",
        f"-o UserKnownHostsFile={shlex.quote(str(auth.known_hosts))}",
        "-o GlobalKnownHostsFile=/dev/null",
        "-o LogLevel=ERROR",
    ]
    return "ssh " + " ".join(options)
