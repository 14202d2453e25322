"""The HTTP client for conveyor's API: one base URL, one bearer token, JSON in and out.

Every failure is translated here, at the boundary, into the package's errors, each saying which
option to check: ``--url`` (or ``CONVEYOR_URL``) when nothing answers, ``--token`` (or
``CONVEYOR_TOKEN``) when the token is refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any

import httpx

from conveyor.adapters.api_client.errors import ApiRejected, ApiUnreachable, Unauthorized

__all__ = ["DEFAULT_TIMEOUT", "ApiClient"]

# A release answers once its workloads are healthy or its health deadline passed: minutes.
DEFAULT_TIMEOUT = 900.0
_CONNECT_TIMEOUT = 10.0
_URL_HINT = "check --url (or CONVEYOR_URL) and that `conveyor daemon` runs there"
_TOKEN_HINT = "check --token (or CONVEYOR_TOKEN): it must be the daemon's API token"


class ApiClient:
    """Requests to one conveyor daemon's API; use as a context manager (or call ``close``)."""

    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            self._http = httpx.Client(
                base_url=self.base_url,
                headers=headers,
                timeout=httpx.Timeout(timeout, connect=_CONNECT_TIMEOUT),
                transport=transport,
                follow_redirects=False,
            )
        except (httpx.InvalidURL, ValueError) as e:
            raise ApiUnreachable(f"{self.base_url!r} is not a usable URL ({e}); {_URL_HINT}") from e

    def __repr__(self) -> str:
        return f"ApiClient({self.base_url})"  # never the token

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- the routes the CLI uses ------------------------------------------------------------

    def workloads(self) -> Any:
        return self.get("/api/v1/workloads")

    def workload_status(self, workload_ids: Iterable[str]) -> Any:
        return self.get("/api/v1/workloads/status", params={"workload": list(workload_ids)})

    def images(self) -> Any:
        return self.get("/api/v1/images")

    def release(self, body: Mapping[str, Any]) -> Any:
        return self.post("/api/v1/release", body)

    def rollback(self, body: Mapping[str, Any]) -> Any:
        return self.post("/api/v1/rollback", body)

    def policy(self, body: Mapping[str, Any]) -> Any:
        return self.post("/api/v1/policy", body)

    def history(self, workload: str | None = None, *, limit: int = 50) -> Any:
        params: dict[str, Any] = {"limit": limit}
        if workload:
            params["workload"] = workload
        return self.get("/api/v1/history", params=params)

    # -- requests ---------------------------------------------------------------------------

    def get(self, path: str, *, params: Mapping[str, Any] | None = None) -> Any:
        return self._request("GET", path, params=params)

    def post(self, path: str, body: Mapping[str, Any]) -> Any:
        return self._request("POST", path, json=body)

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Mapping[str, Any] | None = None,
    ) -> Any:
        where = f"{self.base_url}{path}"
        try:
            response = self._http.request(method, path, params=params, json=json)
        except httpx.TimeoutException as e:
            raise ApiUnreachable(f"{method} {where} got no answer in time; {_URL_HINT}") from e
        except (httpx.TransportError, httpx.InvalidURL) as e:
            raise ApiUnreachable(f"cannot reach {where} ({_describe(e)}); {_URL_HINT}") from e
        if response.status_code in (401, 403):
            raise Unauthorized(
                f"{method} {where} was refused ({response.status_code}:"
                f" {_detail(response) or 'no reason given'}); {_TOKEN_HINT}"
            )
        if response.status_code >= 400:
            raise ApiRejected(
                _detail(response) or f"{method} {where} answered {response.status_code}",
                status=response.status_code,
            )
        try:
            return response.json()
        except ValueError as e:
            raise ApiUnreachable(
                f"{method} {where} answered {response.status_code} without JSON: is it conveyor's"
                f" API? {_URL_HINT}"
            ) from e


def _describe(error: Exception) -> str:
    return str(error) or type(error).__name__


def _detail(response: httpx.Response) -> str:
    """The server's explanation: FastAPI's ``detail`` (a string, or a list of field errors)."""
    try:
        data = response.json()
    except ValueError:
        return response.text.strip()[:200]
    detail = data.get("detail") if isinstance(data, Mapping) else None
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list):  # request validation: one entry per bad field
        return "; ".join(_field_error(item) for item in detail)
    return ""


def _field_error(item: Any) -> str:
    if not isinstance(item, Mapping):
        return str(item)
    where = ".".join(str(part) for part in item.get("loc") or () if part != "body")
    message = str(item.get("msg", "invalid"))
    return f"{where}: {message}" if where else message
