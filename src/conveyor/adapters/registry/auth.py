"""Registry authentication: ``WWW-Authenticate`` challenges, Bearer tokens and their cache.

A registry answers an unauthenticated request with 401 and a challenge: ``Basic realm=...`` (send
the password on every request) or ``Bearer realm=...,service=...,scope=...`` (ask the realm for a
token for that scope, with the password if there is one, anonymously if not). Tokens are cached per
host and scope until shortly before they expire, so a scan asks once per repository, not once per
request.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from conveyor.adapters.registry.credentials import Credentials
from conveyor.adapters.registry.errors import ProtocolError

# The distribution spec: a token without expires_in is good for 60 seconds.
DEFAULT_TOKEN_SECONDS = 60.0
# Refresh a little early so a token never expires between our check and the registry's.
EXPIRY_MARGIN_SECONDS = 10.0

_TOKEN68 = r"[A-Za-z0-9._~+/-]+=*"
_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_QUOTED = r'"(?:[^"\\]|\\.)*"'
_PARAM = re.compile(rf"\s*({_TOKEN})\s*=\s*({_QUOTED}|{_TOKEN})\s*(?:,|$)")
_SCHEME = re.compile(rf"\s*,?\s*({_TOKEN})(?:\s+|$)")


@dataclass(frozen=True)
class Challenge:
    """One auth scheme a registry offered; ``scheme`` is lowercase (``basic``, ``bearer``)."""

    scheme: str
    params: Mapping[str, str] = field(default_factory=dict)

    @property
    def realm(self) -> str:
        return self.params.get("realm", "")

    @property
    def service(self) -> str:
        return self.params.get("service", "")


def _unquote(value: str) -> str:
    if value.startswith('"'):
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def parse_challenges(header: str) -> list[Challenge]:
    """Every challenge in a ``WWW-Authenticate`` value, in the order offered."""
    challenges: list[Challenge] = []
    position = 0
    while position < len(header):
        scheme_match = _SCHEME.match(header, position)
        if not scheme_match:
            raise ProtocolError(f"unreadable WWW-Authenticate header near {header[position:]!r}")
        scheme = scheme_match.group(1).lower()
        position = scheme_match.end()
        params: dict[str, str] = {}
        while position < len(header):
            param = _PARAM.match(header, position)
            if not param:
                token68 = re.compile(rf"\s*{_TOKEN68}\s*(?:,|$)").match(header, position)
                if token68 and not params:
                    position = token68.end()  # a token68 credential hint: not used by registries
                break
            params[param.group(1).lower()] = _unquote(param.group(2))
            position = param.end()
        challenges.append(Challenge(scheme=scheme, params=params))
        if not header[position:].strip():
            break
    return challenges


def preferred_challenge(challenges: list[Challenge]) -> Challenge | None:
    """Bearer when offered (it never sends the password to the registry itself), else Basic."""
    for wanted in ("bearer", "basic"):
        for challenge in challenges:
            if challenge.scheme == wanted:
                return challenge
    return None


def basic_authorization(credentials: Credentials) -> str:
    pair = f"{credentials.username}:{credentials.password}".encode()
    return "Basic " + base64.b64encode(pair).decode()


@dataclass(frozen=True)
class BearerToken:
    value: str = field(repr=False)
    expires_at: float  # on the client's monotonic clock

    @property
    def authorization(self) -> str:
        return f"Bearer {self.value}"


def parse_token_response(body: object, *, now: float, realm: str) -> BearerToken:
    """A token service's JSON answer -> a token valid until shortly before it expires."""
    if not isinstance(body, Mapping):
        raise ProtocolError(f"token service {realm} answered something other than a JSON object")
    value = body.get("token") or body.get("access_token")
    if not isinstance(value, str) or not value:
        raise ProtocolError(f"token service {realm} answered without a token")
    lifetime = body.get("expires_in")
    seconds = float(lifetime) if isinstance(lifetime, int | float) and lifetime > 0 else 0.0
    seconds = max(seconds, DEFAULT_TOKEN_SECONDS)
    return BearerToken(value=value, expires_at=now + seconds - EXPIRY_MARGIN_SECONDS)


class TokenCache:
    """Bearer tokens per (host, scope) until they expire."""

    def __init__(self) -> None:
        self._tokens: dict[tuple[str, str], BearerToken] = {}

    def __repr__(self) -> str:
        return f"TokenCache(entries={len(self._tokens)})"

    def get(self, host: str, scope: str, *, now: float) -> BearerToken | None:
        token = self._tokens.get((host, scope))
        if token is None or token.expires_at <= now:
            return None
        return token

    def put(self, host: str, scope: str, token: BearerToken) -> None:
        self._tokens[(host, scope)] = token

    def drop(self, host: str, scope: str) -> None:
        self._tokens.pop((host, scope), None)
