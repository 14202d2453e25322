"""The release routes: list workloads, release, roll back, change policies, read the history.

Routes (under ``prefix``, ``/api/v1`` by default; each behind ``auth``)::

    GET  /workloads                  every workload in the repo, with what the cluster runs
    GET  /workloads/status?workload  the health of the given workloads now (``release --watch``)
    POST /release                    release an image (or every image per policy); dry runs too
    POST /rollback                   roll one workload back (no image is rebuilt)
    POST /policy                     lock, unlock, automate, deautomate, or set a tag policy
    GET  /history?workload=&limit=   who did what, when, why, which commit, and how it went

Each write is one commit to the config repo made by the
:class:`~conveyor.daemon.releases.ReleaseManager`; the answer comes once it was synced (and, for
releases and rollbacks, once the workloads are healthy or their deadline passed). An answer
whose ``notApplied`` is set is an operation that failed: its commit is in the repo, but the sync
refused or failed it, and the text says what to check.

Errors become JSON answers whose ``detail`` says what to check: a request that cannot be
carried out as given (:class:`~conveyor.core.release.ReleaseError`) 400; the config repo, the
cluster or the history store failing, or the daemon starting or stopping, 503.

With :func:`conveyor.api.app.create_app`'s ``extra_routers`` (which adds the prefix and the
token itself) build it with ``prefix=""`` and ``auth=None``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query

from conveyor.adapters.git import GitError
from conveyor.adapters.kube import KubeError
from conveyor.adapters.store import StoreError
from conveyor.api.releases_models import (
    HistoryEntryModel,
    OperationModel,
    PolicyBody,
    ReleaseBody,
    RollbackBody,
    WorkloadHealthModel,
    WorkloadModel,
    health_model,
    history_model,
    operation_model,
    workload_model,
)
from conveyor.core.release import (
    PolicyRequest,
    ReleaseError,
    ReleaseRequest,
    RollbackRequest,
    WorkloadSelector,
    normalize_workload_id,
)
from conveyor.daemon.jobs import QueueClosedError
from conveyor.daemon.releases import ReleaseManager
from conveyor.daemon.releases_io import wait_for_workloads

__all__ = ["ManagerSource", "release_router"]

ManagerSource = Callable[[], ReleaseManager | None] | ReleaseManager
"""The manager itself, or a function returning it (None while the daemon is starting)."""

_MAX_HISTORY = 1000
_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "The request cannot be carried out as given; `detail` says why."},
    503: {"description": "The config repo, the cluster or the store failed, or not running."},
}


def release_router(
    *,
    manager: ManagerSource,
    auth: Callable[..., Awaitable[None]] | None,
    prefix: str = "/api/v1",
) -> APIRouter:
    """The release routes over ``manager``, each guarded by the ``auth`` dependency."""
    dependencies = [Depends(auth)] if auth is not None else []
    router = APIRouter(
        prefix=prefix, tags=["releases"], dependencies=dependencies, responses=_ERRORS
    )

    def current() -> ReleaseManager:
        found = manager if isinstance(manager, ReleaseManager) else manager()
        if found is None:
            raise HTTPException(
                503, "the release manager is not running yet (the daemon is starting); retry soon"
            )
        return found

    @router.get("/workloads")
    async def list_workloads() -> list[WorkloadModel]:
        """Every workload at the branch head: containers, images (repo and live), policies."""
        with _translated():
            return [workload_model(w) for w in await current().list_workloads()]

    @router.get("/workloads/status")
    async def workload_status(
        workload: Annotated[list[str], Query(description="Workload ids (repeatable).")],
    ) -> list[WorkloadHealthModel]:
        """The health of the given workloads now (kinds without a rollout are left out)."""
        with _translated():
            releases = current()
            wanted = {normalize_workload_id(w) for w in workload}
            view = await releases.head()
            located = [w for w in view.workloads if w.id in wanted]
            unknown = sorted(wanted - {w.id for w in located})
            if unknown:
                raise ReleaseError(f"not in the config repo: {', '.join(unknown)}")
            health = await wait_for_workloads(
                releases.kube,
                located,
                sync_name=releases.sync_settings.name,
                default_namespace=releases.sync_settings.default_namespace,
                timeout=0.0,
            )
            return [health_model(h) for h in health]

    @router.post("/release")
    async def release(body: ReleaseBody) -> OperationModel:
        """Release ``image`` to the selected workloads (or, with ``update_all``, each image its
        policy chooses): one commit, a sync, a wait for health; reverted and locked when they
        fail it. When the sync did not apply the commit, ``notApplied`` says why (no wait, no
        revert). ``dry_run`` writes nothing and answers with the plan and the live diff."""
        with _translated():
            if (body.image is None) == (not body.update_all):
                raise ReleaseError("give an image (REPO:TAG) or update_all, exactly one of them")
            request = ReleaseRequest(
                _selector(body.workloads, all_=body.all, exclude=body.exclude),
                image=body.image,
                force=body.force,
                dry_run=body.dry_run,
                user=body.user,
                message=body.message,
            )
            return operation_model(await current().release(request))

    @router.post("/rollback")
    async def rollback(body: RollbackBody) -> OperationModel:
        """Roll one workload back, as a commit: to ``to`` (an image or a revision), or to the
        image before its current release. ``notApplied``: why the sync did not apply it."""
        with _translated():
            request = RollbackRequest(
                body.workload, to=body.to or None, user=body.user, message=body.message
            )
            return operation_model(await current().rollback(request))

    @router.post("/policy")
    async def policy(body: PolicyBody) -> OperationModel:
        """Lock, unlock, automate, deautomate, or set a container's tag policy: one commit.
        ``notApplied``: why the sync did not apply it (the commit stays in the repo)."""
        with _translated():
            request = PolicyRequest(
                _selector(body.workloads, all_=body.all, exclude=body.exclude),
                body.action,
                container=body.container,
                pattern=body.pattern or None,
                user=body.user,
                message=body.message,
            )
            return operation_model(await current().change_policy(request))

    @router.get("/history")
    async def history(
        workload: Annotated[str | None, Query(description="Only this workload's entries.")] = None,
        limit: Annotated[int, Query(ge=1, le=_MAX_HISTORY)] = 50,
    ) -> list[HistoryEntryModel]:
        """The newest entries first: who, what, when, why, which commit, and the result."""
        with _translated():
            return [history_model(e) for e in await current().history(workload, limit=limit)]

    return router


def _selector(workloads: list[str], *, all_: bool, exclude: list[str]) -> WorkloadSelector:
    return WorkloadSelector(ids=tuple(workloads), all=all_, exclude=tuple(exclude))


@contextmanager
def _translated() -> Iterator[None]:
    """The layers' errors as HTTP answers that say what to check."""
    try:
        yield
    except ReleaseError as e:
        raise HTTPException(400, str(e)) from e
    except GitError as e:
        raise HTTPException(
            503,
            f"the config repo could not be fetched or pushed: {e} (check that the git host is"
            " reachable and the daemon's deploy key may push)",
        ) from e
    except KubeError as e:
        raise HTTPException(
            503,
            f"the cluster could not be read or synced: {e} (check that the apiserver is"
            " reachable and the daemon's kubeconfig or service account may do this)",
        ) from e
    except StoreError as e:
        raise HTTPException(
            503, f"the history store failed: {e} (check the daemon's --state-dir)"
        ) from e
    except QueueClosedError as e:
        raise HTTPException(503, "the daemon is shutting down; retry once it is back") from e
