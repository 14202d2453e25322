"""One HTTP request to a registry, made politely: per-host gate, auth challenges, retries.

:class:`RegistrySession` owns the ``httpx.AsyncClient`` shared by every host, the per-host
:class:`~conveyor.adapters.registry.limits.HostGate`, the learned auth challenge per host and the
token cache. The API operations in :mod:`conveyor.adapters.registry.client` build on
:meth:`RegistrySession.request`; everything that can go wrong is translated into the adapter's
errors here.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import httpx

from conveyor.adapters.registry.auth import (
    BearerToken,
    Challenge,
    TokenCache,
    basic_authorization,
    parse_challenges,
    parse_token_response,
    preferred_challenge,
)
from conveyor.adapters.registry.credentials import (
    Credentials,
    CredentialsProvider,
    first_credentials,
)
from conveyor.adapters.registry.errors import (
    AuthError,
    ProtocolError,
    RateLimited,
    RegistryUnavailable,
)
from conveyor.adapters.registry.limits import (
    HostGate,
    HostLimits,
    RequestCounter,
    RetryPolicy,
    backoff_delay,
    parse_retry_after,
)
from conveyor.adapters.registry.names import api_host

# Answers worth another try after a wait; anything else is final.
RETRYABLE_SERVER_ERRORS = frozenset({500, 502, 503, 504})


@dataclass(frozen=True)
class Target:
    """Who a request is for: the API host, the host credentials are filed under, the scope."""

    api_host: str
    credentials_host: str
    scope: str  # "" when no repository is involved (the /v2/ ping)


def anonymous_source(host: str) -> str:
    return f"anonymous (no credentials configured for {host})"


class RegistrySession:
    def __init__(
        self,
        *,
        credentials: Sequence[CredentialsProvider],
        insecure_hosts: Collection[str],
        limits: HostLimits,
        host_limits: Mapping[str, HostLimits],
        retry: RetryPolicy,
        timeout: float,
        counter: RequestCounter,
        transport: httpx.AsyncBaseTransport | None,
    ) -> None:
        self._providers = tuple(credentials)
        self._insecure = {api_host(h) for h in insecure_hosts}
        self._limits = limits
        self._host_limits = {api_host(h): v for h, v in host_limits.items()}
        self._retry = retry
        self.counter = counter
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            # Per-host concurrency is capped by the gates; the pool must not be the tighter limit,
            # or a slow host holding connections would stall the others.
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=64),
            transport=transport,
        )
        self._gates: dict[str, HostGate] = {}
        self._challenges: dict[str, Challenge] = {}
        self._tokens = TokenCache()
        self._token_locks: defaultdict[tuple[str, str], asyncio.Lock] = defaultdict(asyncio.Lock)
        self._known_credentials: dict[str, Credentials | None] = {}
        self._credentials_locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    def __repr__(self) -> str:
        return f"RegistrySession(hosts={sorted(self._gates)})"

    async def aclose(self) -> None:
        await self._http.aclose()

    def base_url(self, host: str) -> str:
        scheme = "http" if host in self._insecure else "https"
        return f"{scheme}://{host}"

    def gate(self, host: str) -> HostGate:
        if host not in self._gates:
            self._gates[host] = HostGate(self._host_limits.get(host, self._limits))
        return self._gates[host]

    async def credentials(self, host: str) -> Credentials | None:
        async with self._credentials_locks[host]:
            if host not in self._known_credentials:
                found = await first_credentials(self._providers, host)
                self._known_credentials[host] = found
            return self._known_credentials[host]

    async def _source(self, target: Target) -> str:
        found = await self.credentials(target.credentials_host)
        return found.source if found else anonymous_source(target.credentials_host)

    async def exchange(
        self,
        host: str,
        method: str,
        url: str,
        *,
        operation: str,
        headers: Mapping[str, str],
        params: Mapping[str, str] | None = None,
        follow_redirects: bool = False,
    ) -> httpx.Response:
        """One HTTP exchange through the host's gate, counted; no retries, no auth."""
        async with self.gate(host).slot():
            try:
                response = await self._http.request(
                    method,
                    url,
                    headers=dict(headers),
                    params=params,
                    follow_redirects=follow_redirects,
                )
            except httpx.TransportError:
                self.counter.record(host, operation, None)
                raise
        self.counter.record(host, operation, response.status_code)
        return response

    async def request(
        self,
        target: Target,
        method: str,
        url: str,
        *,
        operation: str,
        headers: Mapping[str, str] | None = None,
        follow_redirects: bool = False,
    ) -> httpx.Response:
        """A request with auth, answering one challenge, retrying 429/5xx/connection failures."""
        host = target.api_host
        failures = 0
        answered_challenge = False
        while True:
            sent_headers = dict(headers or {})
            authorization = await self._authorization(target)
            if authorization:
                sent_headers["Authorization"] = authorization
            try:
                response = await self.exchange(
                    host,
                    method,
                    url,
                    operation=operation,
                    headers=sent_headers,
                    follow_redirects=follow_redirects,
                )
            except httpx.TransportError as e:
                failures += 1
                if failures >= self._retry.max_attempts:
                    raise RegistryUnavailable(
                        f"{host} did not answer {method} {httpx.URL(url).path} after {failures}"
                        f" attempts ({type(e).__name__}); check that the registry is up and"
                        " reachable from here"
                    ) from e
                await asyncio.sleep(backoff_delay(failures, self._retry))
                continue
            status = response.status_code
            if status == 401:
                if answered_challenge:
                    source = await self._source(target)
                    raise AuthError(
                        f"{host} refused {method} {httpx.URL(url).path} with {source}; check"
                        " those credentials and that they may pull this repository",
                        host=host,
                        source=source,
                    )
                answered_challenge = True
                await self._learn_challenge(target, response)
                continue
            if status == 429 or status in RETRYABLE_SERVER_ERRORS:
                failures += 1
                await self._wait_before_retry(target, response, failures)
                continue
            return response

    async def _wait_before_retry(
        self, target: Target, response: httpx.Response, failures: int
    ) -> None:
        host = target.api_host
        status = response.status_code
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        delay = retry_after if retry_after is not None else backoff_delay(failures, self._retry)
        pause_host = status == 429 or retry_after is not None
        if pause_host:
            # The whole host waits: the next request of *any* caller honours the pause.
            self.gate(host).pause(delay)
        too_long = retry_after is not None and retry_after > self._retry.max_retry_after
        if failures >= self._retry.max_attempts or too_long:
            if status == 429:
                raise RateLimited(
                    f"{host} is rate limiting conveyor (429, retry after {delay:.0f}s, after"
                    f" {failures} attempts); lower the requests per second for this host or"
                    " add credentials with a higher quota",
                    host=host,
                    retry_after=delay,
                )
            raise RegistryUnavailable(
                f"{host} kept answering {status} ({failures} attempts); check the registry's"
                " status page or logs"
            )
        if not pause_host:
            await asyncio.sleep(delay)

    async def _learn_challenge(self, target: Target, response: httpx.Response) -> None:
        host = target.api_host
        header = response.headers.get("WWW-Authenticate", "")
        challenge = preferred_challenge(parse_challenges(header)) if header else None
        if challenge is None:
            raise ProtocolError(
                f"{host} answered 401 without a Basic or Bearer challenge ({header[:80]!r})"
            )
        if challenge.scheme == "basic" and await self.credentials(target.credentials_host) is None:
            raise AuthError(
                f"{host} needs a username and password and none are configured for"
                f" {target.credentials_host}; add them to the docker config or pull secret",
                host=host,
                source=anonymous_source(target.credentials_host),
            )
        self._challenges[host] = challenge
        self._tokens.drop(host, target.scope)

    async def _authorization(self, target: Target) -> str | None:
        """The Authorization header for a host whose challenge we know (saves a 401 round)."""
        challenge = self._challenges.get(target.api_host)
        if challenge is None:
            return None
        credentials = await self.credentials(target.credentials_host)
        if challenge.scheme == "basic":
            return basic_authorization(credentials) if credentials else None
        token = await self._token(target, challenge, credentials)
        return token.authorization

    async def _token(
        self, target: Target, challenge: Challenge, credentials: Credentials | None
    ) -> BearerToken:
        key = (target.api_host, target.scope)
        cached = self._tokens.get(*key, now=time.monotonic())
        if cached:
            return cached
        # One token request per host and scope, however many requests are waiting for it.
        async with self._token_locks[key]:
            cached = self._tokens.get(*key, now=time.monotonic())
            if cached:
                return cached
            token = await self._fetch_token(target, challenge, credentials)
            self._tokens.put(*key, token)
            return token

    async def _fetch_token(
        self, target: Target, challenge: Challenge, credentials: Credentials | None
    ) -> BearerToken:
        realm = challenge.realm
        source = credentials.source if credentials else anonymous_source(target.credentials_host)
        try:
            realm_url = httpx.URL(realm)
        except httpx.InvalidURL as e:
            raise ProtocolError(f"{target.api_host} named an unusable token realm") from e
        if realm_url.scheme not in ("https", "http") or not realm_url.host:
            raise ProtocolError(f"{target.api_host} named an unusable token realm {realm!r}")
        if realm_url.scheme == "http" and credentials and target.api_host not in self._insecure:
            raise AuthError(
                f"{target.api_host} asks for credentials over plain http at {realm}; refusing"
                " (configure the host as insecure only if that is really intended)",
                host=target.api_host,
                source=source,
            )
        params = {"service": challenge.service} if challenge.service else {}
        if target.scope:
            params["scope"] = target.scope
        headers = {"Authorization": basic_authorization(credentials)} if credentials else {}
        realm_host = realm_url.netloc.decode()
        try:
            response = await self.exchange(
                realm_host, "GET", realm, operation="token", headers=headers, params=params
            )
        except httpx.TransportError as e:
            raise RegistryUnavailable(
                f"the token service {realm} of {target.api_host} did not answer"
                f" ({type(e).__name__}); check that it is reachable"
            ) from e
        if response.status_code in (401, 403):
            raise AuthError(
                f"the token service {realm} of {target.api_host} refused {source}"
                f" for {target.scope or 'the registry'}; check those credentials",
                host=target.api_host,
                source=source,
            )
        if response.status_code != 200:
            raise RegistryUnavailable(
                f"the token service {realm} of {target.api_host} answered"
                f" {response.status_code}; try again later"
            )
        try:
            body = response.json()
        except ValueError as e:
            raise ProtocolError(f"the token service {realm} answered with invalid JSON") from e
        return parse_token_response(body, now=time.monotonic(), realm=realm)
