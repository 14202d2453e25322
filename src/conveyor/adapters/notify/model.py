"""What is sent (`Notification`) and where (`*Target`), as plain data.

Each target names the event types it wants; by default all of them. Secret-bearing fields
(webhook URLs carry their token in the path, SMTP passwords) are kept out of reprs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal


class NotificationEvent(StrEnum):
    """The kinds of news conveyor sends."""

    RELEASE = "release"
    ROLLBACK = "rollback"
    AUTO_ROLLBACK = "auto_rollback"
    SYNC_FAILED = "sync_failed"
    DRIFT = "drift"


ALL_EVENTS: frozenset[NotificationEvent] = frozenset(NotificationEvent)


@dataclass(frozen=True)
class Notification:
    """One piece of news: a short title, a body, and labelled details (workload, image...)."""

    event_type: NotificationEvent
    title: str
    body: str
    fields: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class TargetBase:
    """What every target has: a name for reports and logs, and the events it wants."""

    name: str
    events: frozenset[NotificationEvent] = ALL_EVENTS

    def wants(self, event_type: NotificationEvent) -> bool:
        return event_type in self.events


@dataclass(frozen=True, kw_only=True)
class SlackTarget(TargetBase):
    """A Slack incoming webhook: `https://hooks.slack.com/services/T.../B.../...`."""

    webhook_url: str = field(repr=False)


@dataclass(frozen=True, kw_only=True)
class TeamsTarget(TargetBase):
    """An MS Teams channel through a Power Automate / Workflows "post to a channel" webhook.

    The URL is the one the workflow's HTTP trigger shows (`https://...logic.azure.com/workflows/
    .../triggers/manual/paths/invoke?...&sig=...`, or the newer `...powerplatform.com` form);
    Teams' retired "Incoming Webhook" connector URLs do not work any more.
    """

    workflow_url: str = field(repr=False)


@dataclass(frozen=True, kw_only=True)
class DiscordTarget(TargetBase):
    """A Discord channel webhook: `https://discord.com/api/webhooks/<id>/<token>`."""

    webhook_url: str = field(repr=False)


EmailSecurity = Literal["starttls", "ssl", "none"]


@dataclass(frozen=True, kw_only=True)
class EmailTarget(TargetBase):
    """Mail through an SMTP server."""

    smtp_host: str
    sender: str
    recipients: tuple[str, ...]
    smtp_port: int | None = None
    """None: the usual port for `security` (587 starttls, 465 ssl, 25 none)."""
    security: EmailSecurity = "starttls"
    username: str | None = None
    password: str | None = field(default=None, repr=False)


@dataclass(frozen=True, kw_only=True)
class AppriseTarget(TargetBase):
    """Any other service apprise knows, by its apprise URL (`json://`, `form://`, `ntfy://`...)."""

    url: str = field(repr=False)


@dataclass(frozen=True, kw_only=True)
class JsonWebhookTarget(TargetBase):
    """conveyor's own JSON body POSTed to `url` (the format is in `json_webhook`).

    With a `secret`, each request carries `X-Conveyor-Signature: sha256=<hex HMAC-SHA256 of the
    body>`, the same scheme conveyor's generic inbound webhooks verify.
    """

    url: str = field(repr=False)
    secret: str | None = field(default=None, repr=False)
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)


Target = SlackTarget | TeamsTarget | DiscordTarget | EmailTarget | AppriseTarget | JsonWebhookTarget


@dataclass(frozen=True)
class DeliveryResult:
    """How sending to one target went; `error` says what failed, with secrets redacted."""

    target: str
    delivered: bool
    error: str | None = None


@dataclass(frozen=True)
class NotifyReport:
    """The outcome of one `Notifier.send`: one result per target that wanted the event."""

    results: tuple[DeliveryResult, ...]
    skipped: tuple[str, ...] = ()
    """Targets that do not take this event type."""

    @property
    def all_delivered(self) -> bool:
        return all(result.delivered for result in self.results)

    @property
    def failures(self) -> tuple[DeliveryResult, ...]:
        return tuple(result for result in self.results if not result.delivered)
