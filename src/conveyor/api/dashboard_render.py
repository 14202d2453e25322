"""Rendering the dashboard: Jinja2 pages and fragments, static files, and the words of a flash.

Templates live in ``templates/`` beside this module and are rendered with autoescaping on, so
every string from the repo, the cluster or a person (a commit message, a lock reason) is escaped.
Every answer carries headers that keep the pages to their own origin: a Content-Security-Policy
that allows only this daemon's script and stylesheet, no framing, and no caching of pages.

:func:`operation_flash` and :func:`failure_text` turn what a release operation did, or the error
a layer below raised, into the one line a person reads after a form POST.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.responses import HTMLResponse, RedirectResponse, Response

from conveyor.adapters.git import GitError
from conveyor.adapters.kube import KubeError
from conveyor.adapters.registry import RegistryError
from conveyor.adapters.store import StoreError
from conveyor.api.dashboard_session import FLASH_COOKIE, Flash, Session, SessionKeys
from conveyor.core.commit_message import ReleasedChange
from conveyor.core.release import AnnotationChange, OperationResult, ReleaseError
from conveyor.daemon.jobs import QueueClosedError
from conveyor.daemon.runner_state import AutomationDisabled

__all__ = [
    "COOKIE_PATH",
    "LAYER_ERRORS",
    "Renderer",
    "StaticFile",
    "failure_text",
    "load_static",
    "operation_flash",
    "short",
    "workload_anchor",
]

COOKIE_PATH = "/ui"
_HERE = Path(__file__).parent
_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
_PAGE_HEADERS = {
    "Content-Security-Policy": _CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

LAYER_ERRORS = (
    ReleaseError,
    GitError,
    KubeError,
    RegistryError,
    StoreError,
    QueueClosedError,
    AutomationDisabled,
)
"""What the layers below raise for a request they cannot carry out: shown, never a 500."""


def workload_anchor(workload_id: str) -> str:
    """The element id of a workload on the workloads page (ids hold ``:`` and ``/``)."""
    return "w-" + re.sub(r"[^a-z0-9]+", "-", workload_id.lower()).strip("-")


def short(revision: str | None) -> str:
    """A commit id as people read it (12 characters, as the notifications write it)."""
    return (revision or "")[:12]


def _when(iso: str | None) -> str:
    """An ISO 8601 time as ``2026-01-31 12:00:05 UTC`` (the text as given when unparsable)."""
    if not iso:
        return ""
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    zone = moment.tzname() or ""
    return f"{moment:%Y-%m-%d %H:%M:%S} {'UTC' if zone in ('UTC', 'UTC+00:00') else zone}".strip()


class Renderer:
    """Pages (with the flash of the last action) and fragments, from ``templates/``."""

    def __init__(self, keys: SessionKeys, *, templates: Path = _HERE / "templates") -> None:
        self.keys = keys
        self.env = Environment(
            loader=FileSystemLoader(templates),
            autoescape=True,
            undefined=StrictUndefined,  # a misspelt name fails the tests instead of vanishing
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["short"] = short
        self.env.filters["when"] = _when
        self.env.filters["anchor"] = workload_anchor

    def page(
        self,
        name: str,
        *,
        flash_cookie: str | None,
        session: Session | None,
        status_code: int = 200,
        **context: Any,
    ) -> HTMLResponse:
        """A whole page; shows the pending flash (if any) and clears its cookie."""
        flash = self.keys.open_flash(flash_cookie)
        html = self.env.get_template(name).render(
            session=session,
            csrf=self.keys.csrf(session) if session is not None else "",
            flash=flash,
            **context,
        )
        response = HTMLResponse(html, status_code=status_code, headers=_PAGE_HEADERS)
        if flash_cookie is not None:
            response.delete_cookie(FLASH_COOKIE, path=COOKIE_PATH)
        return response

    def fragment(self, name: str, **context: Any) -> HTMLResponse:
        """Part of a page, for the script to swap in; leaves the flash for the next page."""
        html = self.env.get_template(name).render(**context)
        return HTMLResponse(html, headers=_PAGE_HEADERS)

    def redirect(self, location: str, *, flash: Flash | None = None, secure: bool) -> Response:
        """303 to ``location`` (a GET), with ``flash`` to show there."""
        response = RedirectResponse(location, status_code=303, headers=_PAGE_HEADERS)
        if flash is not None:
            response.set_cookie(
                FLASH_COOKIE,
                self.keys.seal_flash(flash),
                path=COOKIE_PATH,
                httponly=True,
                samesite="strict",
                secure=secure,
            )
        return response


@dataclass(frozen=True)
class StaticFile:
    body: bytes
    media_type: str


_MEDIA_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}


def load_static(folder: Path = _HERE / "static") -> dict[str, StaticFile]:
    """The static files by name, read once: the only files the dashboard serves."""
    return {
        path.name: StaticFile(path.read_bytes(), _MEDIA_TYPES[path.suffix])
        for path in sorted(folder.iterdir())
        if path.suffix in _MEDIA_TYPES
    }


def failure_text(error: BaseException) -> str:
    """What went wrong below, and what to check next."""
    if isinstance(error, ReleaseError | AutomationDisabled):
        return str(error)
    if isinstance(error, GitError):
        return (
            f"the config repo could not be fetched or pushed: {error} (check that the git host"
            " is reachable and the daemon's deploy key may push)"
        )
    if isinstance(error, KubeError):
        return (
            f"the cluster could not be read or synced: {error} (check that the apiserver is"
            " reachable and the daemon may do this)"
        )
    if isinstance(error, RegistryError):
        return f"a registry failed: {error} (check the registry's address and credentials)"
    if isinstance(error, StoreError):
        return f"the history store failed: {error} (check the daemon's --state-dir)"
    if isinstance(error, QueueClosedError):
        return "the daemon is shutting down; retry once it is back"
    return f"{type(error).__name__}: {error}"


def operation_flash(result: OperationResult, *, action: str) -> Flash:
    """One line on what a release, rollback or policy change did; ``action`` is its verb."""
    commit = short(result.commit)
    if result.commit is None:
        skipped = "; ".join(
            f"{s.workload_id}{f' ({s.container})' if s.container else ''}: {s.reason}"
            for s in result.skipped
        )
        if skipped:
            return Flash("error", f"Not {action}: {skipped}")
        return Flash("ok", f"Nothing to change: {result.message}")
    if result.rolled_back:
        return Flash(
            "error",
            f"Commit {commit} failed its health check and was rolled back by commit"
            f" {short(result.revert_commit)}; the workload is now locked. See the history.",
        )
    changed = ", ".join(dict.fromkeys(_change_text(c) for c in result.changes))
    if result.not_applied:
        return Flash(
            "error",
            f"{action.capitalize()} committed in {commit} ({changed}) but not applied to the"
            f" cluster: {result.not_applied}",
        )
    unhealthy = [h for h in result.health or () if not h.healthy]
    if unhealthy:
        states = "; ".join(f"{h.workload_id}: {h.status} ({h.reason})" for h in unhealthy)
        return Flash(
            "warn", f"{action.capitalize()} in commit {commit} ({changed}), not healthy: {states}"
        )
    return Flash("ok", f"{action.capitalize()} in commit {commit}: {changed}")


def _change_text(change: ReleasedChange | AnnotationChange) -> str:
    if isinstance(change, ReleasedChange):
        where = " ".join(filter(None, (change.workload_id or change.path, change.container)))
        return f"{where} → {change.new_image}"
    return change.workload_id
