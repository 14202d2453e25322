"""The running daemon's loops and what the API asks of them.

:class:`DaemonState` owns the two :class:`~conveyor.daemon.runner_loop.PeriodicTask` loops:

- **sync**: fetch the branch, pass the signature gate, apply it to the cluster, every
  ``sync_interval`` seconds; woken early by a verified git push for this repo and branch, and
  by every automation commit (so a new image is running without waiting for the next tick).
  When automation's mirror holds a newer head (its own push, most often), the pass applies it
  without fetching first, and fetches while the sync applies: a commit someone else pushed
  meanwhile gets the next pass at once. The signature gate checks whatever head is applied;
- **automation**: scan the registries and commit what the policies choose, every
  ``scan_interval`` seconds; woken early by a verified image push for a repository the config
  repo uses (as the last plan found; before the first plan, by any push). Such a pass lists only
  the pushed repositories again (the others' tags come from the metadata cache), and a burst of
  pushes coalesces into one pass listing all of them; the pass on the interval lists everything.

Nothing else is polled early. The API reads readiness, the sync marker, the automation plan
and the identity from here, and turns webhook events into triggers through the ``on_*_push``
handlers. Notifications go out for automation releases and for failed syncs (once per revision
and outcome, not at every tick).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from conveyor.adapters.git import GitError
from conveyor.adapters.kube import KubeClient, KubeError
from conveyor.adapters.notify import Notification, NotificationEvent, Notifier
from conveyor.adapters.store import MetadataCache
from conveyor.core.config import AutomationConfig
from conveyor.core.events import GitPushEvent, ImagePushEvent
from conveyor.core.release_history import HistoryEntry, HistoryKind, HistoryResult
from conveyor.core.sync.record import Outcome, SyncMarker
from conveyor.daemon.automation import (
    AutomationResult,
    AutomationTarget,
    automation_mirror,
    run_automation,
)
from conveyor.daemon.git_source import GitSource
from conveyor.daemon.jobs import RepoJobQueues
from conveyor.daemon.metrics import DaemonMetrics
from conveyor.daemon.out_of_band import check_out_of_band
from conveyor.daemon.releases import ReleaseManager
from conveyor.daemon.runner_loop import PeriodicTask, Wakeup
from conveyor.daemon.scan import PushedImage, RegistryReader, ScanScope
from conveyor.daemon.sync import SyncSettings, read_status

__all__ = ["AutomationDisabled", "AutomationSetup", "DaemonState", "Readiness"]

log = logging.getLogger("conveyor.daemon.runner")


# Who history names for releases made by the automation loop.
AUTOMATION_USER = "conveyor (automation)"


@dataclass(frozen=True)
class Readiness:
    """``/readyz``: ready once the branch was fetched and the cluster answered."""

    git_fetched: bool
    cluster_reachable: bool
    problems: tuple[str, ...] = ()

    @property
    def ready(self) -> bool:
        return self.git_fetched and self.cluster_reachable


@dataclass(frozen=True)
class AutomationSetup:
    """What automation runs need besides the loop: the target branch and the clients."""

    target: AutomationTarget
    config: AutomationConfig
    registry: RegistryReader
    cache: MetadataCache
    state_dir: Path
    scan_interval: float


class DaemonState:
    """The loops, their last results, and the operations the API exposes."""

    def __init__(
        self,
        *,
        source: GitSource,
        kube: KubeClient,
        sync_settings: SyncSettings,
        sync_interval: float,
        queues: RepoJobQueues,
        metrics: DaemonMetrics,
        notifier: Notifier,
        automation: AutomationSetup | None,
        repo_url: str,
        branch: str,
        public_key: str | None,
    ) -> None:
        self.source = source
        self.kube = kube
        self.sync_settings = sync_settings
        self.queues = queues
        self.metrics = metrics
        self.notifier = notifier
        self.automation = automation
        self.repo_url = repo_url
        self.branch = branch
        self.public_key = public_key
        # Release operations (release, rollback, locks, history); set by the runner.
        self.releases: ReleaseManager | None = None
        self.sync_loop: PeriodicTask[SyncMarker] = PeriodicTask(
            "sync", self._sync_pass, interval=sync_interval
        )
        self.automation_loop: PeriodicTask[AutomationResult] | None = (
            PeriodicTask.targeted(
                "automation", self._automation_pass, interval=automation.scan_interval
            )
            if automation is not None
            else None
        )
        self.git_fetched = False
        self.cluster_reachable = False
        self._problems: dict[str, str] = {}
        self.last_marker: SyncMarker | None = None
        self.repositories: frozenset[str] | None = None
        """Image repositories the last automation plan read; None before the first plan."""
        self._reported: tuple[str, Outcome] | None = None
        # The sync reads new heads from automation's mirror without a fetch of its own.
        self._automation_mirror = (
            automation_mirror(automation.target, state_dir=automation.state_dir)
            if automation is not None and automation.target.branch == branch
            else None
        )

    def __repr__(self) -> str:
        return f"DaemonState({self.source!r})"

    # -- what the API reads ---------------------------------------------------------------

    def readiness(self) -> Readiness:
        return Readiness(
            self.git_fetched, self.cluster_reachable, tuple(sorted(self._problems.values()))
        )

    async def status(self) -> SyncMarker | None:
        """The marker recorded in the cluster (what ``conveyor status`` shows)."""
        try:
            marker = await read_status(self.kube, self.sync_settings.name)
        except KubeError:
            self._cluster(False, "reading the sync marker failed")
            raise
        self._cluster(True)
        return marker

    async def sync_now(self) -> SyncMarker:
        """Fetch and apply now; the marker of that pass (raises its GitError/KubeError)."""
        return await self.sync_loop.run_now()

    async def plan_images(self) -> AutomationResult:
        """A dry-run automation: every image, the tag chosen and why; nothing is written."""
        return await self._automate(dry_run=True)

    async def automate_now(self) -> AutomationResult:
        """Run automation now (through its loop, so never two at once) and return its result."""
        if self.automation_loop is None:
            raise AutomationDisabled("automation is switched off (--automation false)")
        return await self.automation_loop.run_now()

    def metrics_text(self) -> bytes:
        return self.metrics.render()

    # -- webhooks -------------------------------------------------------------------------

    async def on_git_push(self, event: GitPushEvent) -> None:
        if event.branch == self.branch and event.matches_repo(self.repo_url):
            self.metrics.count_webhook("git", event.provider.value, "fetch")
            coalesced = self.sync_loop.trigger()
            self.metrics.count_trigger("sync", coalesced=coalesced)
            log.info(
                "git push to %s: %s",
                event.branch,
                "sync already due" if coalesced else "fetching now",
            )
        else:
            self.metrics.count_webhook("git", event.provider.value, "ignored")
            log.info("git push to another repo or branch (%s): ignored", event.branch)

    async def on_image_push(self, event: ImagePushEvent) -> None:
        known = self.repositories
        if self.automation_loop is not None and (known is None or event.repository in known):
            self.metrics.count_webhook("image", event.provider.value, "scan")
            coalesced = self.automation_loop.trigger(PushedImage(event.repository, event.tag))
            self.metrics.count_trigger("automation", coalesced=coalesced)
            log.info(
                "image push %s:%s: %s",
                event.repository,
                event.tag,
                "joins the automation pass already due" if coalesced else "scanning it now",
            )
        else:
            self.metrics.count_webhook("image", event.provider.value, "ignored")
            log.info("image push %s: not used by this repo, ignored", event.repository)

    # -- the passes -----------------------------------------------------------------------

    async def _sync_pass(self) -> SyncMarker:
        started = time.monotonic()
        # A head automation's mirror just saw (most often its own push, which is what woke this
        # pass) is applied without asking the remote first; the remote is asked meanwhile.
        head = await self._head_seen_by_automation()
        local = head is not None
        if head is None:
            try:
                head = await self.source.fetch()
            except GitError as e:
                self._problems["git"] = f"fetching {self.source.description} failed: {e}"
                self.metrics.observe_sync("error", time.monotonic() - started)
                raise
            self._fetched()
        if self.releases is not None:
            # Before the sync applies: adopt what is to be adopted, or self-heal reverts it.
            outcomes = await check_out_of_band(self.releases, revision=head)
            if any(outcome.commit for outcome in outcomes):
                # The writer recorded its push as the mirror's head: no fetch needed for it.
                head = await self.source.mirror.head() or head
        # Fetched while the sync applies, so the pass takes no longer for it.
        fetching = asyncio.create_task(self.source.fetch()) if local else None
        try:
            marker = await self._apply(head, started)
        except BaseException:
            if fetching is not None:
                fetching.cancel()
                await asyncio.gather(fetching, return_exceptions=True)
            raise
        if fetching is not None:
            await self._check_moved_on(fetching, applied=head)
        return marker

    async def _apply(self, head: str, started: float) -> SyncMarker:
        try:
            marker = await self.source.sync(self.kube, self.sync_settings, revision=head)
        except (GitError, KubeError) as e:
            if isinstance(e, KubeError):
                self._cluster(False, f"the cluster cannot be reached: {e}")
            self.metrics.observe_sync("error", time.monotonic() - started)
            raise
        self._cluster(True)
        self.metrics.observe_sync(marker.outcome.value, time.monotonic() - started)
        self.last_marker = marker
        log.info(
            "sync of %s at %s: %s", self.source.description, marker.revision, marker.outcome.value
        )
        await self._report_sync(marker)
        return marker

    async def _head_seen_by_automation(self) -> str | None:
        """The head automation's mirror holds when it is ahead of the sync's (None otherwise)."""
        if self._automation_mirror is None:
            return None
        try:
            return await self.source.mirror.advance_from(self._automation_mirror)
        except GitError as e:  # only a speed-up: the remote is asked instead
            log.warning("reading automation's mirror failed; fetching instead: %s", e)
            return None

    async def _check_moved_on(self, fetching: asyncio.Task[str], *, applied: str) -> None:
        """After a pass that applied a head seen locally: a commit someone else pushed meanwhile
        (its webhook may have been folded into this pass) gets a pass of its own, now."""
        try:
            latest = await fetching
        except GitError as e:
            self._problems["git"] = f"fetching {self.source.description} failed: {e}"
            log.warning("fetching %s during the sync failed: %s", self.source.description, e)
            return
        self._fetched()
        if latest != applied:
            log.info("%s moved on to %s during the sync: syncing again", self.branch, latest)
            self.sync_loop.trigger()

    async def _automation_pass(self, wakeup: Wakeup) -> AutomationResult:
        pushed = [s for s in wakeup.subjects if isinstance(s, PushedImage)]
        scope = ScanScope.full(pushed) if wakeup.full else ScanScope.only(pushed)
        try:
            result = await self._automate(dry_run=False, scope=scope)
            self.metrics.count_automation_pass(full=wakeup.full, listed=len(result.listed))
        except Exception:
            self.metrics.count_automation("error")
            raise
        if result.committed:
            self.metrics.count_automation("committed")
            self.metrics.count_release("succeeded")
            self.sync_loop.trigger()  # our own commit: apply it now, not at the next tick
            await self._record_release(result)
            await self._report_release(result)
        else:
            self.metrics.count_automation("unchanged")
        return result

    async def _record_release(self, result: AutomationResult) -> None:
        """Automated releases go into the same history as the ones asked for by hand."""
        if self.releases is None:
            return
        message = result.message or ""
        await self.releases.record(
            HistoryEntry(
                kind=HistoryKind.RELEASE,
                user=AUTOMATION_USER,
                message=message.splitlines()[0] if message else "automated release",
                time=datetime.now(UTC),
                workloads=tuple(sorted({c.workload_id for c in result.changes if c.workload_id})),
                commit=result.revision,
                result=HistoryResult.SUCCEEDED,
                changes=result.changes,
                detail="released by image automation",
            )
        )

    async def _automate(self, *, dry_run: bool, scope: ScanScope | None = None) -> AutomationResult:
        setup = self.automation
        if setup is None:
            raise AutomationDisabled("automation is switched off (--automation false)")
        result = await run_automation(
            setup.target,
            config=setup.config,
            registry=setup.registry,
            cache=setup.cache,
            state_dir=setup.state_dir,
            queues=self.queues,
            dry_run=dry_run,
            scope=scope,
        )
        self.repositories = result.plan.repositories
        return result

    def _fetched(self) -> None:
        self.git_fetched = True
        self._problems.pop("git", None)

    def _cluster(self, reachable: bool, problem: str = "") -> None:
        self.cluster_reachable = reachable
        if reachable:
            self._problems.pop("cluster", None)
        else:
            self._problems["cluster"] = problem

    async def _report_sync(self, marker: SyncMarker) -> None:
        if marker.outcome is Outcome.SUCCEEDED:
            self._reported = None
            return
        if self._reported == (marker.revision, marker.outcome):
            return  # already told about this revision failing this way
        self._reported = (marker.revision, marker.outcome)
        failures = "\n".join(str(f) for f in marker.failures[:10])
        await self.notifier.send(
            Notification(
                NotificationEvent.SYNC_FAILED,
                title=f"Sync {marker.outcome.value} at {marker.revision[:12]}",
                body=failures or (str(marker.refusal) if marker.refusal else ""),
                fields={"revision": marker.revision, "branch": self.branch},
            )
        )

    async def _report_release(self, result: AutomationResult) -> None:
        await self.notifier.send(
            Notification(
                NotificationEvent.RELEASE,
                title=f"Released {len(result.changes)} image change(s)",
                body="\n".join(change.summary_line() for change in result.changes),
                fields={"commit": result.revision, "branch": self.branch, "by": "automation"},
            )
        )


class AutomationDisabled(RuntimeError):
    """An automation request while automation is switched off."""
