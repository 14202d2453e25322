"""The webhook endpoints: git hosts and registries tell conveyor that something was pushed.

Routes (mounted by the API under its own prefix, if any)::

    POST /hooks/git/{provider}           github, gitlab, bitbucket, gitea, generic
    POST /hooks/image/{provider}         quay, harbor, ghcr, distribution, generic (CloudEvents)
    POST /hooks/image/dockerhub/{token}  Docker Hub signs nothing: the token is the secret

Every request goes verify -> parse -> handler, in that order, so a body is parsed only once its
sender is proven and a handler only ever sees a verified, well-formed push. Answers:

    202 {"accepted": [event, ...]}   the handler was called once per event
    200 {"ignored": "<reason>"}      verified, but not a push we act on (ping, deleted branch)
    400 {"detail": ...}              verified, but not a payload the provider documents
    401 {"detail": ...}              signature or token missing or wrong; nothing was parsed
    404 {"detail": ...}              unknown provider, or no secret configured for it
    413 {"detail": ...}              body larger than `max_body_bytes`

Handlers should only enqueue work (a fetch, a scan) and return: the providers time out quickly
(GitHub after 10 s), and the answer says nothing about the work's outcome. A handler that raises
makes the answer a 500, which providers treat as a failed delivery (some redeliver).

The Docker Hub route carries its secret in the path: whatever serves this router must keep
request paths under /hooks/image/dockerhub/ out of access logs (or redact their last segment).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from conveyor.core.events import (
    GitProvider,
    GitPushEvent,
    Ignored,
    ImageProvider,
    ImagePushEvent,
    WebhookPayloadError,
    WebhookProviderError,
    WebhookRequest,
    WebhookVerificationError,
)
from conveyor.core.webhooks_git import parse_git_push
from conveyor.core.webhooks_image import parse_image_push
from conveyor.core.webhooks_verify import (
    WebhookSecrets,
    verify_git_webhook,
    verify_image_webhook,
)

log = logging.getLogger("conveyor.api.webhooks")

GitPushHandler = Callable[[GitPushEvent], Awaitable[None]]
ImagePushHandler = Callable[[ImagePushEvent], Awaitable[None]]

# GitHub caps payloads at 25 MB; pushes with thousands of commits approach that.
DEFAULT_MAX_BODY_BYTES = 25 * 1024 * 1024

_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "Verified, but not a push: the reason is in `ignored`"},
    400: {"description": "Verified, but the payload is not what the provider documents"},
    401: {"description": "Signature or token missing or wrong"},
    404: {"description": "Unknown provider, or none configured"},
    413: {"description": "Body too large"},
}


class _BodyTooLarge(Exception):
    pass


def webhook_router(
    *,
    secrets: WebhookSecrets,
    on_git_push: GitPushHandler,
    on_image_push: ImagePushHandler,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> APIRouter:
    """The webhook routes, calling `on_git_push` / `on_image_push` for each verified push."""
    router = APIRouter(prefix="/hooks", tags=["webhooks"])

    @router.post("/git/{provider}", status_code=202, responses=_ERROR_RESPONSES)
    async def git_push(provider: str, request: Request) -> JSONResponse:
        """A git host reports a push: fetch that repository now."""
        try:
            git_provider = GitProvider(provider)
        except ValueError:
            return _unknown_provider("git", provider, known=[p.value for p in GitProvider])
        webhook = await _read(request, max_body_bytes)
        if isinstance(webhook, JSONResponse):
            return webhook
        try:
            verify_git_webhook(git_provider, webhook, secrets=secrets)
            result = parse_git_push(git_provider, webhook)
        except (WebhookProviderError, WebhookVerificationError, WebhookPayloadError) as e:
            return _rejected(e, route=f"git/{provider}", request=request)
        if isinstance(result, Ignored):
            return _ignored(result, route=f"git/{provider}")
        for event in result:
            await on_git_push(event)
        return _accepted(result, route=f"git/{provider}")

    @router.post("/image/dockerhub/{token}", status_code=202, responses=_ERROR_RESPONSES)
    async def dockerhub_push(token: str, request: Request) -> JSONResponse:
        """Docker Hub reports a push; the secret token is the last path segment."""
        return await _image_push(ImageProvider.DOCKERHUB, request, path_token=token)

    @router.post("/image/{provider}", status_code=202, responses=_ERROR_RESPONSES)
    async def image_push(provider: str, request: Request) -> JSONResponse:
        """A registry reports a push: scan that image repository now."""
        try:
            image_provider = ImageProvider(provider)
        except ValueError:
            return _unknown_provider("image", provider, known=[p.value for p in ImageProvider])
        return await _image_push(image_provider, request, path_token=None)

    async def _image_push(
        provider: ImageProvider, request: Request, *, path_token: str | None
    ) -> JSONResponse:
        route = f"image/{provider.value}"
        webhook = await _read(request, max_body_bytes)
        if isinstance(webhook, JSONResponse):
            return webhook
        try:
            verify_image_webhook(provider, webhook, secrets=secrets, path_token=path_token)
            result = parse_image_push(provider, webhook)
        except (WebhookProviderError, WebhookVerificationError, WebhookPayloadError) as e:
            return _rejected(e, route=route, request=request)
        if isinstance(result, Ignored):
            return _ignored(result, route=route)
        for event in result:
            await on_image_push(event)
        return _accepted(result, route=route)

    return router


async def _read(request: Request, limit: int) -> WebhookRequest | JSONResponse:
    """The request's headers and raw body (signatures cover the exact bytes), size-capped."""
    try:
        body = await _read_capped(request, limit)
    except _BodyTooLarge:
        log.warning("webhook body over %d bytes rejected", limit)
        return JSONResponse({"detail": f"body larger than {limit} bytes"}, status_code=413)
    return WebhookRequest(headers=dict(request.headers.items()), body=body)


async def _read_capped(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _rejected(error: Exception, *, route: str, request: Request) -> JSONResponse:
    if isinstance(error, WebhookProviderError):
        status = 404
    elif isinstance(error, WebhookVerificationError):
        status = 401
    else:
        status = 400
    # The messages are written to carry no secrets, signatures or body content.
    client = request.client.host if request.client else "unknown"
    log.warning("webhook %s from %s rejected (%d): %s", route, client, status, error)
    return JSONResponse({"detail": str(error)}, status_code=status)


def _unknown_provider(kind: str, provider: str, *, known: list[str]) -> JSONResponse:
    return JSONResponse(
        {"detail": f"no {kind} webhook provider {provider!r}; known: {', '.join(known)}"},
        status_code=404,
    )


def _ignored(ignored: Ignored, *, route: str) -> JSONResponse:
    log.info("webhook %s ignored: %s", route, ignored.reason)
    return JSONResponse({"ignored": ignored.reason}, status_code=200)


def _accepted(
    events: tuple[GitPushEvent, ...] | tuple[ImagePushEvent, ...], *, route: str
) -> JSONResponse:
    log.info("webhook %s accepted %d event(s)", route, len(events))
    return JSONResponse({"accepted": [asdict(event) for event in events]}, status_code=202)
