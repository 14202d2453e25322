"""The daemon's HTTP API: ``create_app`` builds the FastAPI application over a running daemon.

Routes::

    GET  /healthz             open      the process is alive
    GET  /readyz              open      200 once git was fetched and the cluster answered, else 503
    GET  /metrics             token     Prometheus text format
    GET  /api/v1/status       token     the last sync's marker (404 before the first sync)
    POST /api/v1/sync         token     fetch and apply now; answers when applied, with the marker
    GET  /api/v1/images       token     the automation plan, explained (a dry run: writes nothing)
    POST /api/v1/automate     token     run automation now; answers with what it committed
    GET  /api/v1/identity     token     the SSH public key to add as a deploy key
    POST /hooks/...           signed    webhooks (see ``conveyor.api.webhooks``)
    GET  /openapi.json, /docs open      the spec, and a page to try it
    GET  /                    open      a redirect to the dashboard
    GET  /ui/...              session   the web dashboard (see ``conveyor.api.dashboard``); its
                                        login takes the API token; off with ``dashboard=False``

More routers (the release operations) are added with ``extra_routers``: they are mounted under
``/api/v1`` behind the same token.

Errors from the layers below become JSON answers with a ``detail`` that says what to check:
git failures 502 (the git host), cluster failures 503, automation switched off 409, a daemon
shutting down 503.

With leader election (``leadership`` given), a follower serves every read but answers each
write (any method but GET/HEAD/OPTIONS, on the API, the webhooks and the dashboard's actions)
with 503 ``not the leader (leader: NAME)``, after the token check; ``/readyz`` adds ``leader``
and ``leaderIdentity``, and a follower is ready as long as it can read the Lease.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse

from conveyor import __version__
from conveyor.adapters.git import GitError
from conveyor.adapters.kube import KubeError
from conveyor.adapters.registry import RegistryError
from conveyor.adapters.store import StoreError
from conveyor.api.auth import bearer_token_check
from conveyor.api.dashboard import UI_PREFIX, dashboard_router
from conveyor.api.models import (
    AutomationModel,
    HealthModel,
    IdentityModel,
    ReadinessModel,
    SyncMarkerModel,
    automation_model,
    marker_model,
)
from conveyor.api.releases import release_router
from conveyor.api.webhooks import webhook_router
from conveyor.core.events import GitPushEvent, ImagePushEvent
from conveyor.core.sync.record import SyncMarker
from conveyor.core.webhooks_verify import WebhookSecrets
from conveyor.daemon.automation import AutomationResult
from conveyor.daemon.jobs import QueueClosedError
from conveyor.daemon.leader import LeaderStatus
from conveyor.daemon.metrics import CONTENT_TYPE
from conveyor.daemon.releases import ReleaseManager
from conveyor.daemon.runner_state import AutomationDisabled, Readiness

__all__ = ["API_PREFIX", "DaemonControl", "create_app"]

API_PREFIX = "/api/v1"

_AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or wrong bearer token"},
}
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# A session is not a write: a follower's dashboard can be logged into, and shows its reads.
_SESSION_ROUTES = frozenset({f"{UI_PREFIX}/login", f"{UI_PREFIX}/logout"})


class DaemonControl(Protocol):
    """What the API needs from the daemon (``conveyor.daemon.runner_state.DaemonState``)."""

    public_key: str | None
    releases: ReleaseManager | None

    def readiness(self) -> Readiness: ...

    def metrics_text(self) -> bytes: ...

    async def status(self) -> SyncMarker | None: ...

    async def sync_now(self) -> SyncMarker: ...

    async def plan_images(self) -> AutomationResult: ...

    async def automate_now(self) -> AutomationResult: ...

    async def on_git_push(self, event: GitPushEvent) -> None: ...

    async def on_image_push(self, event: ImagePushEvent) -> None: ...


def create_app(
    *,
    state: DaemonControl,
    token: str,
    webhook_secrets: WebhookSecrets | None = None,
    extra_routers: Sequence[APIRouter] = (),
    dashboard: bool = True,
    leadership: Callable[[], LeaderStatus] | None = None,
) -> FastAPI:
    """The API over ``state``, guarded by ``token``; webhooks verified with ``webhook_secrets``
    (none configured: every webhook route answers 404); the dashboard under ``/ui``; writes
    refused while ``leadership`` says this replica follows (None: it always leads)."""
    leader_only = Depends(_leader_check(leadership))
    authenticated = [Depends(bearer_token_check(token)), leader_only]
    app = FastAPI(
        title="conveyor",
        version=__version__,
        summary="GitOps release manager: sync, image automation, releases and rollbacks.",
        redoc_url=None,
    )
    _add_error_handlers(app)

    @app.get("/healthz", tags=["health"])
    async def healthz() -> HealthModel:
        """The process is alive and serving HTTP."""
        return HealthModel(status="ok")

    @app.get(
        "/readyz",
        tags=["health"],
        responses={503: {"model": ReadinessModel, "description": "Not ready yet"}},
        response_model_exclude_none=True,
    )
    async def readyz(response: Response) -> ReadinessModel:
        """Ready once the config repo was fetched and the cluster answered; a follower (with
        leader election) once it can read the Lease."""
        readiness = state.readiness()
        ready, problems = readiness.ready, readiness.problems
        election = leadership() if leadership is not None else None
        if election is not None:
            ready, problems = election.readiness(readiness)
        if not ready:
            response.status_code = 503
        return ReadinessModel(
            ready=ready,
            gitFetched=readiness.git_fetched,
            clusterReachable=readiness.cluster_reachable,
            problems=list(problems),
            leader=election.leading if election is not None else None,
            leaderIdentity=(election.holder or None) if election is not None else None,
        )

    @app.get(
        "/metrics",
        tags=["health"],
        dependencies=authenticated,
        response_class=Response,
        responses={**_AUTH_ERRORS, 200: {"content": {CONTENT_TYPE: {}}}},
    )
    async def metrics() -> Response:
        """Prometheus metrics (scrape with the API token as a bearer credential)."""
        return Response(state.metrics_text(), media_type=CONTENT_TYPE)

    api = APIRouter(prefix=API_PREFIX, dependencies=authenticated, responses=_AUTH_ERRORS)

    @api.get("/status", tags=["sync"], responses={404: {"description": "Never synced"}})
    async def status() -> SyncMarkerModel:
        """The last sync: revision, outcome, and the result of every object."""
        marker = await state.status()
        if marker is None:
            raise HTTPException(404, "this daemon's sync has not run against this cluster yet")
        return marker_model(marker)

    @api.post("/sync", tags=["sync"])
    async def sync() -> SyncMarkerModel:
        """Fetch the branch and apply it now; answers once applied (health waited for)."""
        return marker_model(await state.sync_now())

    @api.get("/images", tags=["automation"])
    async def images() -> AutomationModel:
        """Every automated image: current tag, the tag its policy chooses, and why each
        candidate was or was not chosen. A dry run: nothing is written."""
        return automation_model(await state.plan_images())

    @api.post("/automate", tags=["automation"])
    async def automate() -> AutomationModel:
        """Scan the registries and commit what the policies choose, now."""
        return automation_model(await state.automate_now())

    @api.get("/identity", tags=["git"], responses={404: {"description": "No SSH key in use"}})
    async def identity() -> IdentityModel:
        """The SSH public key the daemon uses: add it to the config repo as a deploy key."""
        if state.public_key is None:
            raise HTTPException(404, "the config repo is not reached over SSH: no key in use")
        return IdentityModel(publicKey=state.public_key)

    app.include_router(api)
    # Looked up per request: the daemon builds its release manager after the app exists.
    app.include_router(
        release_router(manager=lambda: state.releases, auth=None, prefix=""),
        prefix=API_PREFIX,
        dependencies=authenticated,
    )
    for router in extra_routers:
        app.include_router(router, prefix=API_PREFIX, dependencies=authenticated)
    app.include_router(
        webhook_router(
            secrets=webhook_secrets or WebhookSecrets(),
            on_git_push=state.on_git_push,
            on_image_push=state.on_image_push,
        ),
        dependencies=[leader_only],
    )
    if dashboard:
        app.include_router(dashboard_router(state=state, token=token), dependencies=[leader_only])

        @app.get("/", include_in_schema=False)
        async def root() -> RedirectResponse:
            return RedirectResponse(f"{UI_PREFIX}/", status_code=303)

    return app


def _leader_check(leadership: Callable[[], LeaderStatus] | None) -> Callable[[Request], None]:
    """A dependency refusing writes while this replica follows (the loops it would need to
    answer them do not run; the leader's would race with them on git and the cluster)."""

    def check(request: Request) -> None:
        if leadership is None or request.method in _READ_METHODS:
            return
        if request.url.path in _SESSION_ROUTES:
            return
        status = leadership()
        if not status.leading:
            leader = status.holder or "unknown"
            raise HTTPException(
                503,
                f"not the leader (leader: {leader}); send writes to the leader or retry",
                headers={"Retry-After": "2"},
            )

    return check


def _add_error_handlers(app: FastAPI) -> None:
    def handler(status_code: int, prefix: str) -> Any:
        async def handle(request: Request, error: Exception) -> JSONResponse:
            return JSONResponse({"detail": f"{prefix}: {error}"}, status_code=status_code)

        return handle

    app.add_exception_handler(GitError, handler(502, "the config repo failed"))
    app.add_exception_handler(KubeError, handler(503, "the cluster failed"))
    app.add_exception_handler(RegistryError, handler(502, "a registry failed"))
    app.add_exception_handler(StoreError, handler(503, "the state store failed"))
    app.add_exception_handler(AutomationDisabled, handler(409, "not available"))
    app.add_exception_handler(QueueClosedError, handler(503, "shutting down"))
