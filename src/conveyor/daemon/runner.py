"""``conveyor daemon``: one process, one event loop, every part of the release manager.

:meth:`Daemon.running` opens what the daemon holds for its lifetime (the kube client, the
registry client and its SQLite metadata cache, the notifier, the per-branch job queues), starts
the sync loop and the automation loop (see ``runner_state``), and serves the HTTP API with
uvicorn in the same event loop, on a socket bound here (port 0 picks a free port; the bound
address is :attr:`Daemon.address`). :func:`run_daemon` runs it until SIGTERM or SIGINT.

With ``--leader-election`` the loops run only while this process holds the Lease (see
``conveyor.daemon.leader``); the API is served all along, and answers writes with 503 while
the process follows. The election talks to the apiserver through a client of its own, whose
retries end before the renew deadline and which a large sync cannot keep busy.

Shutdown, in order: stop accepting HTTP requests and let those in flight finish (up to
``GRACE_SECONDS``); cancel the loops (a sync cut short is safe: objects are recorded in the
inventory before they are created); let the job queues finish the git writes already started
(a commit is never left half-pushed); release the Lease, so that a follower takes over at once;
close the clients. uvicorn's own signal handling is switched off so that these steps, not
uvicorn, decide when the process ends.

State directory layout::

    STATE_DIR/api-token                 generated when no token is configured (0600)
    STATE_DIR/identity/id_ed25519[.pub] generated when an SSH repo has no --ssh-key
    STATE_DIR/sync/                     the sync's mirror and exported trees
    STATE_DIR/automation/               automation's mirror, worktrees, registry-metadata.db
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI

from conveyor.adapters.git import SshAuth
from conveyor.adapters.kube import KubeClient, LeaseClient, RetryPolicy
from conveyor.adapters.notify import Notifier
from conveyor.adapters.store import HistoryStore, MetadataCache
from conveyor.daemon.automation import AutomationTarget
from conveyor.daemon.automation_setup import commit_settings, registry_client
from conveyor.daemon.git_source import GitSource
from conveyor.daemon.jobs import RepoJobQueues
from conveyor.daemon.leader import LeaderElection, own_pod_label
from conveyor.daemon.metrics import DaemonMetrics
from conveyor.daemon.releases import ReleaseManager
from conveyor.daemon.runner_identity import IdentityError, public_key_of
from conveyor.daemon.runner_setup import (
    API_TOKEN_FILE,
    LeaseSetup,
    SecretReader,
    SetupError,
    api_token,
    automation_config,
    git_remote,
    lease_setup,
    notification_targets,
    signature_trust,
    webhook_secrets,
)
from conveyor.daemon.runner_state import AutomationSetup, DaemonState
from conveyor.daemon.settings import DaemonSettings, ListenAddress
from conveyor.daemon.sync import SyncSettings

__all__ = ["GRACE_SECONDS", "AppFactory", "Daemon", "SetupError", "run_daemon"]

log = logging.getLogger("conveyor.daemon.runner")

GRACE_SECONDS = 10.0

AppFactory = Callable[..., FastAPI]
"""``conveyor.api.app.create_app`` (the daemon layer may not import the API; it is handed in)."""


class _Server(uvicorn.Server):
    """uvicorn without its signal handlers: the daemon decides when and how it stops."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass
class Daemon:
    """A running daemon: its state (loops, clients) and where its API listens."""

    state: DaemonState
    address: ListenAddress
    token: str
    election: LeaderElection | None = None
    """None without ``--leader-election``: this process always leads."""

    def __repr__(self) -> str:
        return f"Daemon({self.state!r}, address={self.address})"

    @property
    def url(self) -> str:
        # A wildcard address is reached through the loopback of its family.
        wildcard = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}  # noqa: S104
        host = wildcard.get(self.address.host, self.address.host)
        return f"http://{ListenAddress(host, self.address.port)}"

    @classmethod
    @asynccontextmanager
    async def running(
        cls,
        settings: DaemonSettings,
        *,
        create_app: AppFactory,
        environ: Mapping[str, str],
        on_secret: Callable[[str], None] | None = None,
    ) -> AsyncIterator[Daemon]:
        """Start everything; on leaving, shut it all down in order (see the module docstring).

        Raises :class:`SetupError` (settings this machine cannot satisfy) and the adapters'
        errors for a kubeconfig or a store that cannot be opened.
        """
        reader = SecretReader(environ, on_secret=on_secret)
        token = api_token(settings, reader)
        if settings.api_token is None:
            log.info("API token: generated, in %s", settings.state_dir / API_TOKEN_FILE)
        remote = git_remote(settings, reader)
        secrets = webhook_secrets(settings, reader)
        targets = notification_targets(settings, reader)
        trust = signature_trust(settings)
        config = automation_config(settings) if settings.automation else None
        lease = lease_setup(settings, environ)
        metrics = DaemonMetrics()
        async with AsyncExitStack() as stack:
            kube = await KubeClient.connect(settings.kubeconfig, context=settings.kube_context)
            stack.push_async_callback(kube.close)
            # Entered before the job queues, so left after them: the lease is released only
            # once the git writes already started are pushed.
            election = (
                await _election(lease, settings, environ, stack=stack, metrics=metrics)
                if lease
                else None
            )
            metrics.set_leader(election is None)
            notifier = await stack.enter_async_context(Notifier(targets))
            queues = RepoJobQueues()
            stack.push_async_callback(queues.close)
            automation = None
            if config is not None:
                automation_dir = settings.state_dir / "automation"
                automation_dir.mkdir(parents=True, exist_ok=True)
                registry = await stack.enter_async_context(registry_client(config))
                metrics.watch_registry_requests(registry.counter)
                cache = await stack.enter_async_context(
                    await MetadataCache.open(automation_dir / "registry-metadata.db")
                )
                automation = AutomationSetup(
                    target=AutomationTarget(remote, settings.branch, settings.paths),
                    config=config,
                    registry=registry,
                    cache=cache,
                    state_dir=automation_dir,
                    scan_interval=settings.scan_interval,
                )
            metrics.watch_queues(queues.depths)
            state = DaemonState(
                source=GitSource(
                    remote,
                    branch=settings.branch,
                    paths=settings.paths,
                    state_dir=settings.state_dir / "sync",
                    trust=trust,
                ),
                kube=kube,
                sync_settings=SyncSettings(
                    name=settings.sync_name,
                    prune=settings.prune,
                    health_timeout=settings.health_timeout,
                ),
                sync_interval=settings.sync_interval,
                queues=queues,
                metrics=metrics,
                notifier=notifier,
                automation=automation,
                repo_url=remote.url,
                branch=settings.branch,
                public_key=_public_key(remote.auth),
            )
            history = await stack.enter_async_context(
                await HistoryStore.open(settings.state_dir / "history.db")
            )
            # The release manager shares the sync loop's GitSource, so both use one mirror.
            state.releases = ReleaseManager(
                source=state.source,
                queues=queues,
                kube=kube,
                history=history,
                notifier=notifier,
                sync_settings=state.sync_settings,
                health_timeout=settings.health_timeout,
                # Releases sign (and author) their commits as automation does: with signature
                # verification on, an unsigned release commit would only be refused by the sync.
                commit=commit_settings(config) if config is not None else None,
                registry=automation.registry if automation else None,
                cache=automation.cache if automation else None,
            )
            app = create_app(
                state=state,
                token=token,
                webhook_secrets=secrets,
                leadership=election.status if election is not None else None,
            )
            listener = _bind(settings.listen)
            stack.callback(listener.close)
            host, port = listener.getsockname()[:2]
            daemon = cls(state, ListenAddress(host, port), token, election)
            # Entered loops first, so left server first: requests in flight still see the loops.
            async with _looping(state, election), _serving(app, listener):
                log.info(
                    "conveyor daemon serving on %s for %s", daemon.url, state.source.description
                )
                yield daemon
            log.info("conveyor daemon stopped serving; closing the job queues and clients")


async def run_daemon(
    settings: DaemonSettings,
    *,
    create_app: AppFactory,
    environ: Mapping[str, str],
    on_secret: Callable[[str], None] | None = None,
    on_started: Callable[[Daemon], None] | None = None,
) -> None:
    """Run until SIGTERM or SIGINT, then shut down gracefully."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        async with Daemon.running(
            settings, create_app=create_app, environ=environ, on_secret=on_secret
        ) as daemon:
            if on_started is not None:
                on_started(daemon)
            await stop.wait()
            log.info("signal received: shutting down")
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)


def _public_key(auth: object) -> str | None:
    if not isinstance(auth, SshAuth):
        return None
    try:
        return public_key_of(auth.private_key)
    except IdentityError as e:
        log.warning("the SSH identity cannot be shown: %s", e)
        return None


def _bind(address: ListenAddress) -> socket.socket:
    family = socket.AF_INET6 if ":" in address.host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((address.host, address.port))
    except OSError as e:
        listener.close()
        raise SetupError(f"--listen: cannot listen on {address}: {e.strerror}") from e
    listener.set_inheritable(True)
    return listener


@asynccontextmanager
async def _serving(app: FastAPI, listener: socket.socket) -> AsyncIterator[None]:
    config = uvicorn.Config(
        app,
        log_config=None,
        lifespan="off",
        timeout_graceful_shutdown=int(GRACE_SECONDS),
        server_header=False,
    )
    server = _Server(config)
    task = asyncio.create_task(server.serve(sockets=[listener]), name="api server")
    while not server.started:
        if task.done():
            await task  # raises why it could not start
            raise SetupError("the API server stopped before it started")
        await asyncio.sleep(0.02)
    try:
        yield
    finally:
        server.should_exit = True
        await task


async def _election(
    lease: LeaseSetup,
    settings: DaemonSettings,
    environ: Mapping[str, str],
    *,
    stack: AsyncExitStack,
    metrics: DaemonMetrics,
) -> LeaderElection:
    timings = lease.timings
    retry = RetryPolicy(
        deadline=timings.renew_deadline,
        first_delay=0.1,
        max_delay=timings.retry_period,
        request_timeout=timings.renew_deadline,
    )
    kube = await KubeClient.connect(
        settings.kubeconfig, context=settings.kube_context, retry=retry, concurrency=2
    )
    stack.push_async_callback(kube.close)
    election = LeaderElection(
        LeaseClient(kube, namespace=lease.namespace, name=lease.name),
        identity=lease.identity,
        timings=timings,
        metrics=metrics,
        # In a pod the leader labels it, for the Service that sends writes to the leader.
        pod=own_pod_label(kube, environ, namespace=lease.namespace),
    )
    stack.push_async_callback(election.release)
    log.info("leader election on lease %s as %s", election.lease_name, lease.identity)
    return election


@asynccontextmanager
async def _looping(state: DaemonState, election: LeaderElection | None) -> AsyncIterator[None]:
    if election is None:
        task = asyncio.create_task(_run_loops(state), name="loops")
    else:
        task = asyncio.create_task(election.run(lambda: _run_loops(state)), name="election")
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def _run_loops(state: DaemonState) -> None:
    """The leader's work: the sync loop and the automation loop, until cancelled."""
    tasks = [asyncio.create_task(state.sync_loop.run(), name="sync loop")]
    if state.automation_loop is not None:
        tasks.append(asyncio.create_task(state.automation_loop.run(), name="automation loop"))
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
