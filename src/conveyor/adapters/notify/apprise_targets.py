"""Slack, MS Teams, Discord, email and any other apprise URL, sent through apprise.

Each target becomes one apprise service, checked when the `Notifier` is built: the URL must be
one apprise recognises as the expected service (a Discord URL given as a Slack target is a
`TargetConfigError`, not a silent misdelivery). Slack, Teams and Discord take the webhook URL
exactly as the service shows it; apprise maps it onto its own plugin. Email is an apprise
`mailto://`/`mailtos://` URL built from the SMTP settings.

apprise is synchronous (it uses `requests` and `smtplib`), so each send runs in a worker thread;
sends to one target are serialized, which also keeps us polite to chat rate limits.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import anyio
import anyio.to_thread
import apprise

from conveyor.adapters.notify.errors import DeliveryError, TargetConfigError
from conveyor.adapters.notify.model import (
    AppriseTarget,
    DiscordTarget,
    EmailTarget,
    Notification,
    NotificationEvent,
    SlackTarget,
    TargetBase,
    TeamsTarget,
)
from conveyor.adapters.notify.redact import redact_url, scrub, url_secret_fragments

AppriseBackedTarget = SlackTarget | TeamsTarget | DiscordTarget | EmailTarget | AppriseTarget

# What apprise reports each kind of news as (it picks colours and icons from this).
_NOTIFY_TYPES = {
    NotificationEvent.RELEASE: apprise.NotifyType.SUCCESS,
    NotificationEvent.ROLLBACK: apprise.NotifyType.WARNING,
    NotificationEvent.AUTO_ROLLBACK: apprise.NotifyType.FAILURE,
    NotificationEvent.SYNC_FAILED: apprise.NotifyType.FAILURE,
    NotificationEvent.DRIFT: apprise.NotifyType.WARNING,
}


def load_apprise_service(url: str) -> Any | None:
    """apprise's service for `url` (None when apprise does not accept it).

    The first call loads apprise's plugins, one of which imports `imghdr`, deprecated since
    Python 3.11: that warning is apprise's to fix, and must not fail strict-warning runs.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=r".imghdr. is deprecated", category=DeprecationWarning
        )
        return apprise.Apprise.instantiate(url, suppress_exceptions=True)


def service_schemas(service: Any) -> set[str]:
    """The URL schemes of an apprise service (`slack`, `mailto`/`mailtos`, ...)."""
    schemas: set[str] = set()
    for declared in (service.protocol, service.secure_protocol):
        if isinstance(declared, str):
            schemas.add(declared)
        elif declared:
            schemas.update(declared)
    return schemas


def email_apprise_url(target: EmailTarget) -> str:
    """The apprise URL for `target`'s SMTP settings (it holds the password: never log it)."""
    if not target.recipients:
        raise TargetConfigError("an email target needs at least one recipient", target=target.name)
    if "@" not in target.sender:
        raise TargetConfigError(
            f"sender {target.sender!r} is not an email address", target=target.name
        )
    schema = "mailto" if target.security == "none" else "mailtos"
    userinfo = ""
    if target.username:
        userinfo = quote(target.username, safe="")
        if target.password:
            userinfo += ":" + quote(target.password, safe="")
        userinfo += "@"
    host = f"[{target.smtp_host}]" if ":" in target.smtp_host else target.smtp_host
    port = f":{target.smtp_port}" if target.smtp_port else ""
    query = {"from": target.sender, "to": ",".join(target.recipients)}
    if target.security != "none":
        query["mode"] = target.security
    return f"{schema}://{userinfo}{host}{port}/?{urlencode(query)}"


@dataclass(frozen=True)
class _Expected:
    url: str = field(repr=False)
    schemas: frozenset[str]
    help: str


def _expected(target: AppriseBackedTarget) -> _Expected:
    if isinstance(target, SlackTarget):
        return _Expected(
            target.webhook_url,
            frozenset({"slack"}),
            "a Slack incoming webhook URL (https://hooks.slack.com/services/...)",
        )
    if isinstance(target, TeamsTarget):
        return _Expected(
            target.workflow_url,
            frozenset({"workflow", "workflows"}),
            "a Teams Workflows webhook URL (https://...logic.azure.com/workflows/.../invoke?...)",
        )
    if isinstance(target, DiscordTarget):
        return _Expected(
            target.webhook_url,
            frozenset({"discord"}),
            "a Discord webhook URL (https://discord.com/api/webhooks/<id>/<token>)",
        )
    if isinstance(target, EmailTarget):
        return _Expected(
            email_apprise_url(target), frozenset({"mailto", "mailtos"}), "valid SMTP settings"
        )
    return _Expected(target.url, frozenset(), "an apprise URL (see apprise's service list)")


def _secrets_of(target: AppriseBackedTarget, url: str) -> list[str]:
    secrets = url_secret_fragments(url)
    if isinstance(target, EmailTarget):
        secrets += [target.password or "", target.username or ""]
    return secrets


class AppriseSender:
    """Sends notifications to one apprise-backed target."""

    def __init__(self, target: AppriseBackedTarget) -> None:
        expected = _expected(target)
        self.target: TargetBase = target
        self._secrets = _secrets_of(target, expected.url)
        service = load_apprise_service(expected.url)
        if service is None or (
            expected.schemas and not service_schemas(service) & expected.schemas
        ):
            # The URL itself may be mistyped credentials: show only its host.
            raise TargetConfigError(
                f"{redact_url(expected.url)} is not {expected.help}", target=target.name
            )
        self._service = service
        self._service_name = str(service.service_name)
        self.display = f"{self._service_name} ({redact_url(expected.url)})"
        self._lock = anyio.Lock()

    @property
    def service(self) -> Any:
        """apprise's service object (its `url(privacy=True)` hides the tokens)."""
        return self._service

    async def send(self, notification: Notification, *, timeout: float) -> None:
        """Deliver `notification`, or raise `DeliveryError` saying why (secrets scrubbed)."""
        async with self._lock:
            delivered, messages = await anyio.to_thread.run_sync(
                self._send_blocking, notification, timeout
            )
        if not delivered:
            detail = "; ".join(scrub(message, self._secrets) for message in messages)
            raise DeliveryError(
                f"{self._service_name} did not accept the message"
                + (f": {detail}" if detail else "")
                + "; check the target's URL or credentials and that the service is reachable",
                target=self.target.name,
            )

    def _send_blocking(self, notification: Notification, timeout: float) -> tuple[bool, list[str]]:
        dispatcher = apprise.Apprise()
        dispatcher.add(self._service)
        result = dispatcher.notify(
            body=render_text(notification),
            title=notification.title,
            notify_type=_NOTIFY_TYPES[notification.event_type],
            body_format=apprise.NotifyFormat.TEXT,
            timeout=timeout,
        )
        try:
            messages = [
                entry.message for entry in result.logs() if entry.level in ("WARNING", "ERROR")
            ]
            return bool(result), messages
        finally:
            result.close()


def render_text(notification: Notification) -> str:
    """The body followed by one `name: value` line per field."""
    lines = [notification.body] if notification.body else []
    lines += [f"{name}: {value}" for name, value in notification.fields.items()]
    return "\n".join(lines)
