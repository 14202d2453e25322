"""`Notifier`: one notification out to every target that wants its event type, concurrently.

Targets are checked when the notifier is built (a bad URL fails at startup, not at the first
release). Sending never raises for a target: each outcome is a `DeliveryResult`, so a broken
Slack webhook cannot keep the on-call email from going out.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from types import TracebackType
from typing import Protocol

import anyio
import httpx

from conveyor.adapters.notify.apprise_targets import AppriseSender
from conveyor.adapters.notify.errors import DeliveryError, TargetConfigError
from conveyor.adapters.notify.json_webhook import JsonWebhookSender
from conveyor.adapters.notify.model import (
    DeliveryResult,
    JsonWebhookTarget,
    Notification,
    NotifyReport,
    Target,
    TargetBase,
)

log = logging.getLogger("conveyor.adapters.notify")

DEFAULT_TIMEOUT = 10.0


class Sender(Protocol):
    """Delivers to one target; raises `DeliveryError` (secrets scrubbed) when it cannot."""

    target: TargetBase
    display: str
    """How to name the target in logs: service and redacted URL."""

    async def send(self, notification: Notification, *, timeout: float) -> None: ...


class Notifier:
    """Sends `Notification`s to the configured targets; use as an async context manager."""

    def __init__(
        self,
        targets: Sequence[Target],
        *,
        http_client: httpx.AsyncClient | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        names = [target.name for target in targets]
        for name in names:
            if names.count(name) > 1:
                raise TargetConfigError("two targets have this name", target=name)
        # apprise targets are checked first: a bad one fails before any client is opened.
        apprise_senders = {
            index: AppriseSender(target)
            for index, target in enumerate(targets)
            if not isinstance(target, JsonWebhookTarget)
        }
        needs_client = len(apprise_senders) < len(targets)
        self._owns_client = http_client is None and needs_client
        self._client = http_client or (httpx.AsyncClient() if needs_client else None)
        self._timeout = timeout
        self._senders: list[Sender] = []
        for index, target in enumerate(targets):
            if isinstance(target, JsonWebhookTarget):
                assert self._client is not None  # needs_client made one
                self._senders.append(JsonWebhookSender(target, client=self._client))
            else:
                self._senders.append(apprise_senders[index])

    @property
    def senders(self) -> tuple[Sender, ...]:
        return tuple(self._senders)

    async def send(self, notification: Notification) -> NotifyReport:
        """Deliver to every target that wants `notification.event_type`; report each outcome."""
        wanted = [s for s in self._senders if s.target.wants(notification.event_type)]
        skipped = tuple(
            s.target.name for s in self._senders if not s.target.wants(notification.event_type)
        )
        results: list[DeliveryResult | None] = [None] * len(wanted)

        async def deliver(index: int, sender: Sender) -> None:
            results[index] = await self._deliver_one(sender, notification)

        async with anyio.create_task_group() as group:
            for index, sender in enumerate(wanted):
                group.start_soon(deliver, index, sender)
        return NotifyReport(
            results=tuple(result for result in results if result is not None), skipped=skipped
        )

    async def _deliver_one(self, sender: Sender, notification: Notification) -> DeliveryResult:
        name = sender.target.name
        try:
            await sender.send(notification, timeout=self._timeout)
        except DeliveryError as e:
            log.warning("notification %s to %s failed: %s", notification.event_type, name, e)
            return DeliveryResult(target=name, delivered=False, error=str(e))
        except Exception as e:
            # A bug in a service library must not cost the other targets their message. Its
            # text may quote the URL, so only the exception type is kept.
            log.error(
                "notification %s to %s (%s) failed unexpectedly with %s",
                notification.event_type,
                name,
                sender.display,
                type(e).__name__,
            )
            return DeliveryResult(
                target=name,
                delivered=False,
                error=f"notify target {name!r}: unexpected {type(e).__name__} while sending",
            )
        log.info("notification %s delivered to %s", notification.event_type, name)
        return DeliveryResult(target=name, delivered=True)

    async def aclose(self) -> None:
        if self._owns_client and self._client is not None:
            await self._client.aclose()

    async def __aenter__(self) -> Notifier:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()
