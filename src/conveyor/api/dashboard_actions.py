"""The dashboard's actions: form POSTs that go through the same operations as the API routes.

Routes (each needs a session and the session's CSRF token in the ``csrf`` field; without the
token: 403 and nothing is called)::

    POST /ui/sync                 fetch and apply now
    POST /ui/workloads/release    workload, image (REPO:TAG), message, force (past locks and
                                  tag filters, as the API's ``force``)
    POST /ui/workloads/rollback   workload, message: back to the image before the last release
    POST /ui/workloads/policy     workload, action (lock, unlock, automate, deautomate), message
    POST /ui/workloads/tag-policy workload, container, pattern (empty: clear it), message: the
                                  same change as ``conveyor policy --tag CONTAINER=PATTERN``

Each answers 303 back to the page, with a flash: what was committed, or why nothing was (a lock,
a tag policy, a typo), or what failed below and what to check. The user recorded in the commit
and the history is the name given at login (``dashboard`` when none was given).
"""

# No ``from __future__ import annotations``: FastAPI must see the route signatures'
# dependencies, which are local to the router factory, as objects, not as names.

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import HTMLResponse, Response

from conveyor.api.dashboard_render import (
    LAYER_ERRORS,
    Renderer,
    failure_text,
    operation_flash,
    short,
    workload_anchor,
)
from conveyor.api.dashboard_session import Flash, Session, SessionKeys
from conveyor.core.release import (
    OperationResult,
    PolicyAction,
    PolicyRequest,
    ReleaseError,
    ReleaseRequest,
    RollbackRequest,
    WorkloadSelector,
)
from conveyor.core.sync.record import Outcome
from conveyor.daemon.releases import ReleaseManager

if TYPE_CHECKING:
    from conveyor.api.app import DaemonControl

__all__ = ["ActionContext", "add_action_routes"]

log = logging.getLogger("conveyor.api.dashboard")

_POLICY_ACTIONS: dict[str, tuple[PolicyAction, str]] = {
    "lock": ("lock", "locked"),
    "unlock": ("unlock", "unlocked"),
    "automate": ("automate", "automated"),
    "deautomate": ("deautomate", "deautomated"),
}


@dataclass(frozen=True)
class ActionContext:
    """What the action routes share with the pages: the daemon, the keys and the renderer."""

    state: "DaemonControl"
    keys: SessionKeys
    render: Renderer
    logged_in: Callable[[Request], Session]
    forged: Callable[[Session], HTMLResponse]


def add_action_routes(router: APIRouter, context: ActionContext) -> None:
    """Add the action routes to ``router`` (which has the ``/ui`` prefix)."""
    state, keys, render = context.state, context.keys, context.render
    SessionDep = Annotated[Session, Depends(context.logged_in)]
    Csrf = Annotated[str, Form()]
    Text = Annotated[str, Form()]

    async def carry_out(
        request: Request,
        *,
        what: str,
        back: str,
        operation: Callable[[ReleaseManager], Awaitable[Flash]],
    ) -> Response:
        """Run ``operation`` on the release manager; its flash, or the failure's, on ``back``."""
        manager = state.releases
        if manager is None:
            flash = Flash("error", f"Could not {what}: the daemon is still starting; retry soon.")
        else:
            try:
                flash = await operation(manager)
            except LAYER_ERRORS as e:
                log.warning("dashboard: %s failed: %s", what, e)
                flash = Flash("error", f"Could not {what}: {failure_text(e)}")
        return render.redirect(back, flash=flash, secure=request.url.scheme == "https")

    @router.post("/sync")
    async def sync(request: Request, session: SessionDep, csrf: Csrf = "") -> Response:
        if not keys.csrf_matches(session, csrf):
            return context.forged(session)
        try:
            marker = await state.sync_now()
        except LAYER_ERRORS as e:
            flash = Flash("error", f"Could not sync: {failure_text(e)}")
        else:
            text = f"Synced {short(marker.revision)}: {marker.outcome.value}"
            failures = "; ".join(str(f) for f in marker.failures[:3])
            flash = Flash(
                "ok" if marker.outcome is Outcome.SUCCEEDED else "error",
                f"{text} ({failures})" if failures else f"{text}.",
            )
        return render.redirect("/ui/", flash=flash, secure=request.url.scheme == "https")

    @router.post("/workloads/release")
    async def release(
        request: Request,
        session: SessionDep,
        csrf: Csrf = "",
        workload: Text = "",
        image: Text = "",
        message: Text = "",
        force: Annotated[bool, Form()] = False,
    ) -> Response:
        if not keys.csrf_matches(session, csrf):
            return context.forged(session)

        async def run(manager: ReleaseManager) -> Flash:
            if not image.strip():
                raise ReleaseError("give the image to release as REPO:TAG")
            request_ = ReleaseRequest(
                _one(workload),
                image=image.strip(),
                force=force,
                user=session.user,
                message=message.strip(),
            )
            # The flash names a forced release as such: it went past a lock or a tag filter.
            verb = "force-released" if force else "released"
            return operation_flash(await manager.release(request_), action=verb)

        return await carry_out(
            request, what=f"release {image.strip()}", back=_back(workload), operation=run
        )

    @router.post("/workloads/rollback")
    async def rollback(
        request: Request,
        session: SessionDep,
        csrf: Csrf = "",
        workload: Text = "",
        message: Text = "",
    ) -> Response:
        if not keys.csrf_matches(session, csrf):
            return context.forged(session)

        async def run(manager: ReleaseManager) -> Flash:
            request_ = RollbackRequest(workload.strip(), user=session.user, message=message.strip())
            result: OperationResult = await manager.rollback(request_)
            return operation_flash(result, action="rolled back")

        return await carry_out(request, what="roll back", back=_back(workload), operation=run)

    @router.post("/workloads/policy")
    async def policy(
        request: Request,
        session: SessionDep,
        csrf: Csrf = "",
        workload: Text = "",
        action: Text = "",
        message: Text = "",
    ) -> Response:
        if not keys.csrf_matches(session, csrf):
            return context.forged(session)
        known = _POLICY_ACTIONS.get(action)

        async def run(manager: ReleaseManager) -> Flash:
            if known is None:
                raise ReleaseError(f"unknown action {action!r}; use {', '.join(_POLICY_ACTIONS)}")
            request_ = PolicyRequest(
                _one(workload), known[0], user=session.user, message=message.strip()
            )
            return operation_flash(await manager.change_policy(request_), action=known[1])

        return await carry_out(
            request, what=action or "change", back=_back(workload), operation=run
        )

    @router.post("/workloads/tag-policy")
    async def tag_policy(
        request: Request,
        session: SessionDep,
        csrf: Csrf = "",
        workload: Text = "",
        container: Text = "",
        pattern: Text = "",
        message: Text = "",
    ) -> Response:
        if not keys.csrf_matches(session, csrf):
            return context.forged(session)
        name, wanted = container.strip(), pattern.strip() or None

        async def run(manager: ReleaseManager) -> Flash:
            # A pattern that does not parse is the manager's ReleaseError, shown as a flash.
            request_ = PolicyRequest(
                _one(workload),
                "policy",
                container=name,
                pattern=wanted,
                user=session.user,
                message=message.strip(),
            )
            result = await manager.change_policy(request_)
            done = operation_flash(result, action="set" if wanted else "cleared")
            return Flash(done.kind, f"{done.text} (tag policy of {name}: {wanted or 'none'})")

        what = f"set the tag policy of {name or 'the container'}"
        return await carry_out(request, what=what, back=_back(workload), operation=run)


def _one(workload: str) -> WorkloadSelector:
    """A selector of exactly the workload named (ReleaseError when none or malformed)."""
    return WorkloadSelector(ids=(workload.strip(),) if workload.strip() else ())


def _back(workload: str) -> str:
    anchor = workload_anchor(workload) if workload.strip() else ""
    return f"/ui/workloads#{anchor}" if anchor else "/ui/workloads"
