"""The notify adapter: news (releases, rollbacks, sync failures, drift) out to people and tools.

Slack, MS Teams (through a Workflows webhook), Discord, email and any other apprise URL go
through apprise; the generic JSON webhook is conveyor's own documented body POSTed with httpx,
optionally HMAC-signed (see `json_webhook`). Each target names the event types it wants.
`Notifier.send` delivers to all wanted targets concurrently and reports each outcome; it never
raises because one target failed. No URL token or password reaches an error, a log or a repr.

Errors::

    NotifyError
    ├── TargetConfigError   a target that cannot work as configured (also a ValueError);
    │                       raised when the Notifier is built
    └── DeliveryError       one target could not be reached or refused the message; becomes
                            that target's DeliveryResult.error, never raised by send()
"""

from conveyor.adapters.notify.apprise_targets import email_apprise_url, render_text
from conveyor.adapters.notify.errors import DeliveryError, NotifyError, TargetConfigError
from conveyor.adapters.notify.json_webhook import SCHEMA as JSON_WEBHOOK_SCHEMA
from conveyor.adapters.notify.json_webhook import notification_body
from conveyor.adapters.notify.model import (
    ALL_EVENTS,
    AppriseTarget,
    DeliveryResult,
    DiscordTarget,
    EmailTarget,
    JsonWebhookTarget,
    Notification,
    NotificationEvent,
    NotifyReport,
    SlackTarget,
    Target,
    TeamsTarget,
)
from conveyor.adapters.notify.notifier import Notifier
from conveyor.adapters.notify.redact import redact_url

__all__ = [
    "ALL_EVENTS",
    "JSON_WEBHOOK_SCHEMA",
    "AppriseTarget",
    "DeliveryError",
    "DeliveryResult",
    "DiscordTarget",
    "EmailTarget",
    "JsonWebhookTarget",
    "Notification",
    "NotificationEvent",
    "Notifier",
    "NotifyError",
    "NotifyReport",
    "SlackTarget",
    "Target",
    "TargetConfigError",
    "TeamsTarget",
    "email_apprise_url",
    "notification_body",
    "redact_url",
    "render_text",
]
