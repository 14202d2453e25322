"""The daemon's Prometheus metrics, in a registry of its own (never the global default one).

Counted as things happen (the daemon, and the release operations, call the ``count_*`` and
``observe_*`` methods)::

    conveyor_sync_duration_seconds{outcome}         histogram of sync passes (fetch + apply)
    conveyor_syncs_total{outcome}                   succeeded, partial, failed, refused, error
    conveyor_last_sync_timestamp_seconds{outcome}   when a pass last ended with that outcome
    conveyor_automation_runs_total{result}          committed, unchanged, error
    conveyor_automation_passes_total{scope}         full (interval, by hand) or targeted (webhooks)
    conveyor_automation_repositories_listed_total   repositories whose tags a pass listed again
    conveyor_loop_triggers_total{loop, result}      started a pass, or coalesced into a pending one
    conveyor_releases_total{result}                 releases made through the API or automation
    conveyor_rollbacks_total{trigger, result}       trigger: manual or automatic
    conveyor_webhooks_total{kind, provider, action} image/git pushes accepted, and what they did
    conveyor_leader                                 1 while this process does the leader's work

Read at scrape time from the objects that already keep them (no second bookkeeping)::

    conveyor_queue_jobs{repo, branch, state}        waiting / running jobs per branch queue
    conveyor_registry_requests_total{host, operation, status_class}
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from conveyor.adapters.git import redact
from conveyor.adapters.registry import RequestCounter
from conveyor.daemon.jobs import QueueDepth, QueueKey

__all__ = ["CONTENT_TYPE", "DaemonMetrics"]

CONTENT_TYPE = CONTENT_TYPE_LATEST

# Syncs take from well under a second (nothing changed) to minutes (waiting for rollouts).
_SYNC_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)


class _QueueCollector(Collector):
    def __init__(self, depths: Callable[[], Mapping[QueueKey, QueueDepth]]) -> None:
        self._depths = depths

    def collect(self) -> Iterable[Metric]:
        family = GaugeMetricFamily(
            "conveyor_queue_jobs",
            "Jobs in the per-branch job queues, waiting or running.",
            labels=["repo", "branch", "state"],
        )
        for key, depth in sorted(self._depths().items()):
            repo = redact(key.repo_url)
            family.add_metric([repo, key.branch, "waiting"], depth.waiting)
            family.add_metric([repo, key.branch, "running"], 1 if depth.running else 0)
        yield family


class _RegistryCollector(Collector):
    def __init__(self, counters: Callable[[], Iterable[RequestCounter]]) -> None:
        self._counters = counters

    def collect(self) -> Iterable[Metric]:
        family = CounterMetricFamily(
            "conveyor_registry_requests",
            "Requests sent to image registries, by host, operation and status class.",
            labels=["host", "operation", "status_class"],
        )
        totals: dict[tuple[str, str, str], int] = {}
        for counter in self._counters():
            for key, count in counter.snapshot().items():
                label = (key.host, key.operation, key.status_class)
                totals[label] = totals.get(label, 0) + count
        for label, count in sorted(totals.items()):
            family.add_metric(list(label), count)
        yield family


class DaemonMetrics:
    """Every metric of one daemon; ``render()`` gives the exposition text for ``/metrics``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._registry_counters: list[RequestCounter] = []
        self.sync_duration = Histogram(
            "conveyor_sync_duration_seconds",
            "Duration of sync passes (fetch, signature gate, apply, health wait).",
            ["outcome"],
            buckets=_SYNC_BUCKETS,
            registry=self.registry,
        )
        self.syncs = Counter(
            "conveyor_syncs", "Sync passes by outcome.", ["outcome"], registry=self.registry
        )
        self.last_sync = Gauge(
            "conveyor_last_sync_timestamp_seconds",
            "Unix time a sync pass last ended with each outcome.",
            ["outcome"],
            registry=self.registry,
        )
        self.automation_runs = Counter(
            "conveyor_automation_runs",
            "Automation runs by result.",
            ["result"],
            registry=self.registry,
        )
        self.automation_passes = Counter(
            "conveyor_automation_passes",
            "Automation passes by scope: full (every repository listed) or targeted (only the"
            " repositories webhooks named; the others from the cache).",
            ["scope"],
            registry=self.registry,
        )
        self.repositories_listed = Counter(
            "conveyor_automation_repositories_listed",
            "Image repositories whose tags automation passes listed from the registry.",
            registry=self.registry,
        )
        self.loop_triggers = Counter(
            "conveyor_loop_triggers",
            "Early wake-ups of a loop: started (asked for a pass) or coalesced (joined a pass"
            " already pending).",
            ["loop", "result"],
            registry=self.registry,
        )
        self.releases = Counter(
            "conveyor_releases", "Releases by result.", ["result"], registry=self.registry
        )
        self.rollbacks = Counter(
            "conveyor_rollbacks",
            "Rollbacks by trigger (manual, automatic) and result.",
            ["trigger", "result"],
            registry=self.registry,
        )
        self.webhooks = Counter(
            "conveyor_webhooks",
            "Verified webhook events by kind, provider and what the daemon did with them.",
            ["kind", "provider", "action"],
            registry=self.registry,
        )
        self.leader = Gauge(
            "conveyor_leader",
            "1 while this process is the leader (syncs, automates, writes), 0 while it follows;"
            " always 1 without --leader-election.",
            registry=self.registry,
        )
        self.registry.register(_RegistryCollector(lambda: tuple(self._registry_counters)))

    def watch_queues(self, depths: Callable[[], Mapping[QueueKey, QueueDepth]]) -> None:
        """Report the job queues' lengths at every scrape (call once)."""
        self.registry.register(_QueueCollector(depths))

    def watch_registry_requests(self, counter: RequestCounter) -> None:
        """Report the requests this registry client's counter has seen."""
        self._registry_counters.append(counter)

    def observe_sync(self, outcome: str, seconds: float) -> None:
        self.sync_duration.labels(outcome).observe(seconds)
        self.syncs.labels(outcome).inc()
        self.last_sync.labels(outcome).set(time.time())

    def count_automation(self, result: str) -> None:
        self.automation_runs.labels(result).inc()

    def count_automation_pass(self, *, full: bool, listed: int) -> None:
        self.automation_passes.labels("full" if full else "targeted").inc()
        self.repositories_listed.inc(listed)

    def count_trigger(self, loop: str, *, coalesced: bool) -> None:
        self.loop_triggers.labels(loop, "coalesced" if coalesced else "started").inc()

    def count_release(self, result: str = "succeeded") -> None:
        self.releases.labels(result).inc()

    def count_rollback(self, *, automatic: bool, result: str = "succeeded") -> None:
        self.rollbacks.labels("automatic" if automatic else "manual", result).inc()

    def count_webhook(self, kind: str, provider: str, action: str) -> None:
        self.webhooks.labels(kind, provider, action).inc()

    def set_leader(self, leading: bool) -> None:
        self.leader.set(1 if leading else 0)

    def render(self) -> bytes:
        return generate_latest(self.registry)
