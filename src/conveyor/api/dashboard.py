"""The web dashboard: server-rendered pages over the running daemon, under ``/ui``.

Routes (none in the OpenAPI spec; every page but the login page and the static files needs a
session, and sends the browser to the login page without one)::

    GET  /ui/login, POST /ui/login    the API token (and an optional name for the history)
    POST /ui/logout                   end the session
    GET  /ui/                         readiness and the last sync (failures, refusal)
    GET  /ui/fragments/sync           that part alone, for the page's auto-refresh
    GET  /ui/workloads                workloads, images (repo and live), locks and policies
    GET  /ui/images                   the automation plan: why each tag was (not) chosen
    GET  /ui/history?workload=        who did what, when, why, which commit, how it went
    POST /ui/sync, /ui/workloads/*    actions (see :mod:`conveyor.api.dashboard_actions`)
    GET  /ui/static/{name}            conveyor.css and conveyor.js

Pages work without JavaScript: links, and forms that POST and get a 303 to a page showing a
one-line flash of the outcome. The script only refreshes the sync summary and marks busy forms.

Sessions, CSRF tokens and flashes are signed with the API token
(:mod:`conveyor.api.dashboard_session`); the token itself never reaches a page, a cookie or a log.
A data source that fails (the cluster, git, the store) is shown on the page that needed it.
"""

# No ``from __future__ import annotations``: FastAPI must see the route signatures'
# dependencies, which are local to the router factory, as objects, not as names.

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Cookie, Depends, Form, HTTPException, Query, Request
from starlette.responses import HTMLResponse, Response

from conveyor.api.dashboard_actions import ActionContext, add_action_routes
from conveyor.api.dashboard_render import (
    COOKIE_PATH,
    LAYER_ERRORS,
    Renderer,
    failure_text,
    load_static,
)
from conveyor.api.dashboard_session import (
    FLASH_COOKIE,
    SESSION_COOKIE,
    Flash,
    Session,
    SessionKeys,
)
from conveyor.api.models import ReadinessModel, automation_model, marker_model
from conveyor.api.releases_models import history_model, workload_model
from conveyor.daemon.releases import ReleaseManager
from conveyor.daemon.runner_state import AutomationDisabled

if TYPE_CHECKING:
    from conveyor.api.app import DaemonControl

__all__ = ["UI_PREFIX", "dashboard_router"]

FlashCookie = Annotated[str | None, Cookie(alias=FLASH_COOKIE)]

log = logging.getLogger("conveyor.api.dashboard")

UI_PREFIX = "/ui"
_HISTORY_LIMIT = 200
_STARTING = "the release manager is not running yet (the daemon is starting); reload in a moment"


def dashboard_router(*, state: "DaemonControl", token: str) -> APIRouter:
    """The dashboard over ``state``; a login takes ``token``, the daemon's API token."""
    keys = SessionKeys(token)
    render = Renderer(keys)
    static = load_static()
    router = APIRouter(prefix=UI_PREFIX, include_in_schema=False)

    def logged_in(request: Request) -> Session:
        session = keys.read(request.cookies.get(SESSION_COOKIE))
        if session is None:
            # A 303 to the login page, which sends the browser back here afterwards.
            back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            wanted = f"?next={quote(back)}" if request.method == "GET" else ""
            raise HTTPException(303, "log in first", headers={"Location": f"/ui/login{wanted}"})
        return session

    SessionDep = Annotated[Session, Depends(logged_in)]

    @router.get("/login")
    async def login_page(
        request: Request,
        flash_cookie: FlashCookie = None,
        next_page: Annotated[str, Query(alias="next")] = "/ui/",
    ) -> Response:
        if keys.read(request.cookies.get(SESSION_COOKIE)) is not None:
            return render.redirect(_safe_next(next_page), secure=_secure(request))
        return render.page(
            "login.html",
            flash_cookie=flash_cookie,
            session=None,
            next=_safe_next(next_page),
            error="",
        )

    @router.post("/login")
    async def login(
        request: Request,
        token: Annotated[str, Form()] = "",
        name: Annotated[str, Form()] = "",
        next_page: Annotated[str, Form(alias="next")] = "/ui/",
    ) -> Response:
        if not keys.token_matches(token):
            log.info("dashboard login refused: wrong API token")
            return render.page(
                "login.html",
                flash_cookie=None,
                session=None,
                status_code=401,
                next=_safe_next(next_page),
                error="That is not this daemon's API token. Check STATE_DIR/api-token, "
                "--api-token-file or CONVEYOR_API_TOKEN.",
            )
        session, cookie = keys.issue(name)
        log.info("dashboard login as %s", session.user)
        welcome = Flash("ok", f"Logged in as {session.user}.")
        response = render.redirect(_safe_next(next_page), flash=welcome, secure=_secure(request))
        response.set_cookie(
            SESSION_COOKIE,
            cookie,
            max_age=keys.max_age,
            path=COOKIE_PATH,
            httponly=True,
            samesite="strict",
            secure=_secure(request),
        )
        return response

    @router.post("/logout")
    async def logout(
        request: Request, session: SessionDep, csrf: Annotated[str, Form()] = ""
    ) -> Response:
        if not keys.csrf_matches(session, csrf):
            return forged(session)
        response = render.redirect(
            "/ui/login", flash=Flash("ok", "Logged out."), secure=_secure(request)
        )
        response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH)
        return response

    @router.get("/")
    async def overview(session: SessionDep, flash_cookie: FlashCookie = None) -> Response:
        return render.page(
            "overview.html",
            flash_cookie=flash_cookie,
            session=session,
            page="overview",
            public_key=state.public_key,
            **await _sync_summary(state),
        )

    @router.get("/fragments/sync")
    async def sync_fragment(session: SessionDep) -> Response:
        return render.fragment("_sync.html", **await _sync_summary(state))

    @router.get("/workloads")
    async def workloads(session: SessionDep, flash_cookie: FlashCookie = None) -> Response:
        async def read(manager: ReleaseManager) -> list[Any]:
            return [workload_model(w) for w in await manager.list_workloads()]

        found, error = await _read_releases(state, read)
        return render.page(
            "workloads.html",
            flash_cookie=flash_cookie,
            session=session,
            page="workloads",
            workloads=found,
            error=error,
        )

    @router.get("/images")
    async def images(session: SessionDep, flash_cookie: FlashCookie = None) -> Response:
        plan, error, automation_off = None, "", ""
        try:
            plan = automation_model(await state.plan_images())
        except AutomationDisabled as e:
            automation_off = str(e)
        except LAYER_ERRORS as e:
            error = failure_text(e)
        return render.page(
            "images.html",
            flash_cookie=flash_cookie,
            session=session,
            page="images",
            plan=plan,
            error=error,
            automation_off=automation_off,
        )

    @router.get("/history")
    async def history(
        session: SessionDep,
        flash_cookie: FlashCookie = None,
        workload: str = "",
        limit: Annotated[int, Query(ge=1, le=_HISTORY_LIMIT)] = 100,
    ) -> Response:
        async def read(manager: ReleaseManager) -> list[Any]:
            found = await manager.history(workload.strip() or None, limit=limit)
            return [history_model(e) for e in found]

        entries, error = await _read_releases(state, read)
        return render.page(
            "history.html",
            flash_cookie=flash_cookie,
            session=session,
            page="history",
            entries=entries,
            workload=workload.strip(),
            error=error,
        )

    @router.get("/static/{name}")
    async def static_file(name: str) -> Response:
        found = static.get(name)
        if found is None:
            raise HTTPException(404, "no such file")
        return Response(
            found.body, media_type=found.media_type, headers={"Cache-Control": "max-age=300"}
        )

    def forged(session: Session) -> HTMLResponse:
        log.warning("dashboard form refused: missing or wrong CSRF token (user %s)", session.user)
        return render.page(
            "forbidden.html", flash_cookie=None, session=session, page="", status_code=403
        )

    add_action_routes(
        router,
        ActionContext(state=state, keys=keys, render=render, logged_in=logged_in, forged=forged),
    )
    return router


async def _read_releases(
    state: "DaemonControl", read: Callable[[ReleaseManager], Awaitable[list[Any]]]
) -> tuple[list[Any], str]:
    """The rows ``read`` finds through the release manager and no error; or no rows and the
    error for the page to show (the daemon still starting, or a data source failing)."""
    manager = state.releases
    if manager is None:
        return [], _STARTING
    try:
        return await read(manager), ""
    except LAYER_ERRORS as e:
        return [], failure_text(e)


async def _sync_summary(state: "DaemonControl") -> dict[str, Any]:
    """Readiness and the last sync's marker (or why it could not be read)."""
    readiness = state.readiness()
    summary: dict[str, Any] = {
        "readiness": ReadinessModel(
            ready=readiness.ready,
            gitFetched=readiness.git_fetched,
            clusterReachable=readiness.cluster_reachable,
            problems=list(readiness.problems),
        ),
        "marker": None,
        "sync_error": "",
    }
    try:
        marker = await state.status()
    except LAYER_ERRORS as e:
        summary["sync_error"] = failure_text(e)
    else:
        summary["marker"] = marker_model(marker) if marker is not None else None
    return summary


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def _safe_next(target: str) -> str:
    """Only a dashboard path: a login must never send the browser to another site."""
    if target.startswith(f"{UI_PREFIX}/") and not target.startswith("//") and "\\" not in target:
        return target
    return f"{UI_PREFIX}/"
