"""The registry client: the OCI distribution API operations conveyor needs.

``ping``, ``list_tags`` (following ``Link`` pages), ``head_manifest``/``get_manifest`` (digest and
media type, with every manifest type in ``Accept``) and ``image_config`` (created time and labels,
read from the config blob only when asked; an index is resolved to the configured platform).
One client serves every host; see :mod:`conveyor.adapters.registry.session` for auth, limits and
retries.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Mapping, Sequence
from types import TracebackType

import httpx

from conveyor.adapters.registry.credentials import CredentialsProvider
from conveyor.adapters.registry.errors import AuthError, NotFound, ProtocolError
from conveyor.adapters.registry.limits import HostLimits, RequestCounter, RetryPolicy
from conveyor.adapters.registry.manifests import (
    MANIFEST_ACCEPT,
    ImageConfig,
    Manifest,
    ManifestInfo,
    Platform,
    TagList,
    config_digest,
    media_type_of,
    parse_image_config,
    select_platform,
)
from conveyor.adapters.registry.names import (
    RepositoryName,
    api_host,
    as_repository,
    canonical_host,
)
from conveyor.adapters.registry.session import RegistrySession, Target, anonymous_source

DEFAULT_PAGE_SIZE = 1000
# A registry whose Link pages never end would otherwise keep a scan busy forever.
MAX_TAG_PAGES = 10_000
_LINK = re.compile(r"<([^>]*)>((?:\s*;\s*[^;,]*)*)")


def next_page_url(link_header: str | None, current: httpx.URL) -> str | None:
    """The ``rel="next"`` target of a ``Link`` header, resolved against the current URL."""
    if not link_header:
        return None
    for match in _LINK.finditer(link_header):
        params = match.group(2).replace(" ", "").lower()
        if 'rel="next"' in params or "rel=next" in params:
            return str(current.join(match.group(1)))
    return None


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class RegistryClient:
    """An async client for any number of registries; close it (or use ``async with``)."""

    def __init__(
        self,
        *,
        credentials: Sequence[CredentialsProvider] = (),
        insecure_hosts: Collection[str] = (),
        limits: HostLimits | None = None,
        host_limits: Mapping[str, HostLimits] | None = None,
        retry: RetryPolicy | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        platform: Platform | None = None,
        timeout: float = 30.0,
        counter: RequestCounter | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.page_size = page_size
        self.platform = platform or Platform()
        self.counter = counter or RequestCounter()
        self._session = RegistrySession(
            credentials=credentials,
            insecure_hosts=insecure_hosts,
            limits=limits or HostLimits(),
            host_limits=host_limits or {},
            retry=retry or RetryPolicy(),
            timeout=timeout,
            counter=self.counter,
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"RegistryClient({self._session!r})"

    async def aclose(self) -> None:
        await self._session.aclose()

    async def __aenter__(self) -> RegistryClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- helpers --------------------------------------------------------------------------------

    def _target(self, repository: RepositoryName) -> Target:
        return Target(repository.api_host, repository.host, repository.pull_scope)

    def _url(self, repository: RepositoryName, rest: str) -> str:
        return f"{self._session.base_url(repository.api_host)}/v2/{repository.path}/{rest}"

    async def _fail(self, response: httpx.Response, target: Target, what: str) -> None:
        """Raise the adapter error for a non-2xx answer (after auth and retries)."""
        status = response.status_code
        if status == 404:
            raise NotFound(
                f"{what} not found on {target.api_host}: check the name (a private repository"
                " also answers 404 when the credentials cannot see it)"
            )
        if status == 403:
            found = await self._session.credentials(target.credentials_host)
            source = found.source if found else anonymous_source(target.credentials_host)
            raise AuthError(
                f"{target.api_host} forbids {what} to {source}; check that these credentials"
                " may pull it",
                host=target.api_host,
                source=source,
            )
        raise ProtocolError(f"{target.api_host} answered {status} to {what}")

    @staticmethod
    def _json(response: httpx.Response, what: str) -> Mapping[str, object]:
        try:
            body = response.json()
        except ValueError as e:
            raise ProtocolError(f"{what}: the answer is not valid JSON") from e
        if not isinstance(body, Mapping):
            raise ProtocolError(f"{what}: the answer is not a JSON object")
        return body

    # -- operations -----------------------------------------------------------------------------

    async def ping(self, registry: str) -> None:
        """Check that ``registry`` speaks the distribution API and accepts our credentials."""
        host = api_host(registry)
        target = Target(host, canonical_host(registry), "")
        url = f"{self._session.base_url(host)}/v2/"
        response = await self._session.request(target, "GET", url, operation="ping")
        if response.status_code != 200:
            await self._fail(response, target, "the /v2/ endpoint")

    async def list_tags(self, repository: RepositoryName | str) -> TagList:
        """Every tag of ``repository``, following ``Link: <...>; rel="next"`` pages."""
        repo = as_repository(repository)
        target = self._target(repo)
        url: str | None = self._url(repo, f"tags/list?n={self.page_size}")
        tags: list[str] = []
        visited: set[str] = set()
        while url is not None:
            if url in visited or len(visited) >= MAX_TAG_PAGES:
                raise ProtocolError(f"{repo}: the tag list pages loop or never end (at {url})")
            visited.add(url)
            response = await self._session.request(target, "GET", url, operation="tags")
            if response.status_code != 200:
                await self._fail(response, target, f"the tag list of {repo}")
            page = self._json(response, f"tag list of {repo}").get("tags") or []
            if not isinstance(page, list):
                raise ProtocolError(f"{repo}: the tag list's 'tags' is not a list")
            tags.extend(str(tag) for tag in page)
            url = next_page_url(response.headers.get("Link"), response.url)
        return TagList(repository=repo, tags=tuple(tags), pages=len(visited))

    async def head_manifest(self, repository: RepositoryName | str, reference: str) -> ManifestInfo:
        """Digest and media type of a tag or digest, without downloading the manifest."""
        repo = as_repository(repository)
        target = self._target(repo)
        response = await self._session.request(
            target,
            "HEAD",
            self._url(repo, f"manifests/{reference}"),
            operation="manifest_head",
            headers={"Accept": MANIFEST_ACCEPT},
        )
        if response.status_code != 200:
            await self._fail(response, target, f"{repo}:{reference}")
        digest = response.headers.get("Docker-Content-Digest", "")
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        if not digest.startswith("sha256:") or not media_type:
            # Some registries omit the digest on HEAD: the manifest itself tells.
            return (await self.get_manifest(repo, reference)).info
        return ManifestInfo(digest=digest, media_type=media_type)

    async def get_manifest(self, repository: RepositoryName | str, reference: str) -> Manifest:
        """The manifest (image manifest or index), its digest checked against its content."""
        repo = as_repository(repository)
        target = self._target(repo)
        what = f"{repo}:{reference}" if ":" not in reference else f"{repo}@{reference}"
        response = await self._session.request(
            target,
            "GET",
            self._url(repo, f"manifests/{reference}"),
            operation="manifest_get",
            headers={"Accept": MANIFEST_ACCEPT},
        )
        if response.status_code != 200:
            await self._fail(response, target, what)
        digest = sha256_digest(response.content)
        claimed = response.headers.get("Docker-Content-Digest") or digest
        expected = reference if reference.startswith("sha256:") else claimed
        if digest != expected or claimed != digest:
            raise ProtocolError(f"{what}: the manifest does not match its digest {expected}")
        document = self._json(response, what)
        media_type = media_type_of(document, response.headers.get("Content-Type", ""))
        return Manifest(info=ManifestInfo(digest=digest, media_type=media_type), document=document)

    async def image_config(
        self,
        repository: RepositoryName | str,
        reference: str,
        *,
        platform: Platform | None = None,
    ) -> ImageConfig:
        """Created time and labels of a tag or digest (for an index: of one platform's image)."""
        repo = as_repository(repository)
        target = self._target(repo)
        manifest = await self.get_manifest(repo, reference)
        if manifest.info.is_index:
            chosen = select_platform(
                manifest.document, platform or self.platform, where=f"{repo}:{reference}"
            )
            manifest = await self.get_manifest(repo, chosen)
        digest = config_digest(manifest.document, where=f"{repo}@{manifest.info.digest}")
        response = await self._session.request(
            target,
            "GET",
            self._url(repo, f"blobs/{digest}"),
            operation="blob",
            # Blobs are often served from a CDN; httpx drops Authorization on a cross-origin hop.
            follow_redirects=True,
        )
        if response.status_code != 200:
            await self._fail(response, target, f"config blob {digest} of {repo}")
        if sha256_digest(response.content) != digest:
            raise ProtocolError(f"{repo}: the config blob does not match its digest {digest}")
        return parse_image_config(
            self._json(response, f"config blob of {repo}"), digest=digest, where=str(repo)
        )
