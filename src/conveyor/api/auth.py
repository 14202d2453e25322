"""Bearer-token authentication for every route that reads or changes the daemon's state.

``Authorization: Bearer <token>`` with the daemon's API token, compared in constant time. A
missing token answers 401 with ``WWW-Authenticate: Bearer realm="conveyor"``; a wrong one adds
``error="invalid_token"`` (RFC 6750). The token is never logged or echoed.

Webhooks do not use it: each provider proves itself with its own signature or secret (see
``conveyor.api.webhooks``). ``/healthz``, ``/readyz`` and the OpenAPI spec are open: they tell
nothing about the repo or the cluster beyond "up" and "ready".
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

__all__ = ["REALM", "bearer_token_check"]

REALM = "conveyor"

_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="apiToken",
    description="The daemon's API token (--api-token-file, CONVEYOR_API_TOKEN, or the one it"
    " generated in STATE_DIR/api-token).",
)


def bearer_token_check(token: str) -> Callable[..., Awaitable[None]]:
    """A FastAPI dependency that lets a request through only with ``token``."""
    if not token:
        raise ValueError("the API token is empty; the API would be open to anyone")
    expected = token.encode("utf-8")

    async def require_token(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_scheme)],
    ) -> None:
        if credentials is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                detail="missing bearer token: send Authorization: Bearer <API token>",
                headers={"WWW-Authenticate": f'Bearer realm="{REALM}"'},
            )
        if not hmac.compare_digest(credentials.credentials.encode("utf-8"), expected):
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                detail="invalid bearer token: check the daemon's API token",
                headers={"WWW-Authenticate": f'Bearer realm="{REALM}", error="invalid_token"'},
            )

    return require_token
