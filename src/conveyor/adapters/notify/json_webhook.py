"""The generic JSON webhook: conveyor's own notification body, POSTed with httpx.

The request, for receivers to rely on::

    POST <url>
    Content-Type: application/json
    User-Agent: conveyor-notify/1
    X-Conveyor-Event: <event_type>
    X-Conveyor-Delivery: <id>                       (the same id as in the body)
    X-Conveyor-Signature: sha256=<hex HMAC-SHA256 of the exact body bytes, keyed by the secret>
                                                    (only when the target has a secret)

    {"schema": "conveyor.notification/v1",
     "id": "<uuid4, unique per delivery>",
     "event_type": "release" | "rollback" | "auto_rollback" | "sync_failed" | "drift",
     "title": "...", "body": "...",
     "fields": {"<name>": "<value>", ...},
     "sent_at": "<RFC 3339 UTC time, e.g. 2026-01-31T12:00:00Z>"}

A receiver checks the signature over the raw body before parsing it, and can use `sent_at` and
`id` to refuse replays. Any 2xx answer is success; redirects are not followed (a webhook that
moved is a configuration error, and following it would resend the body somewhere unchecked).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import httpx

from conveyor.adapters.notify.errors import DeliveryError
from conveyor.adapters.notify.model import JsonWebhookTarget, Notification, TargetBase
from conveyor.adapters.notify.redact import redact_url, scrub, url_secret_fragments
from conveyor.core.webhooks_verify import CONVEYOR_SIGNATURE_HEADER, sign_body

SCHEMA = "conveyor.notification/v1"
USER_AGENT = "conveyor-notify/1"
EVENT_HEADER = "X-Conveyor-Event"
DELIVERY_HEADER = "X-Conveyor-Delivery"


def notification_body(notification: Notification, *, delivery_id: str, sent_at: datetime) -> bytes:
    """The documented JSON body, as the exact bytes that are signed and sent."""
    document = {
        "schema": SCHEMA,
        "id": delivery_id,
        "event_type": notification.event_type.value,
        "title": notification.title,
        "body": notification.body,
        "fields": dict(notification.fields),
        "sent_at": sent_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class JsonWebhookSender:
    """Sends notifications to one generic JSON webhook through a shared httpx client."""

    def __init__(self, target: JsonWebhookTarget, *, client: httpx.AsyncClient) -> None:
        self.target: TargetBase = target
        self._url = target.url
        self._secret = target.secret
        self._extra_headers = dict(target.headers)
        self._client = client
        self._secrets = [
            *url_secret_fragments(target.url),
            target.secret or "",
            *target.headers.values(),
        ]
        self.display = f"JSON webhook ({redact_url(target.url)})"

    def request_headers(
        self, body: bytes, *, notification: Notification, delivery_id: str
    ) -> dict[str, str]:
        headers = {
            **self._extra_headers,
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            EVENT_HEADER: notification.event_type.value,
            DELIVERY_HEADER: delivery_id,
        }
        if self._secret:
            headers[CONVEYOR_SIGNATURE_HEADER] = sign_body(self._secret, body)
        return headers

    async def send(self, notification: Notification, *, timeout: float) -> None:
        """POST `notification`, or raise `DeliveryError` saying why (secrets scrubbed)."""
        delivery_id = str(uuid.uuid4())
        body = notification_body(notification, delivery_id=delivery_id, sent_at=datetime.now(UTC))
        headers = self.request_headers(body, notification=notification, delivery_id=delivery_id)
        try:
            response = await self._client.post(
                self._url, content=body, headers=headers, timeout=timeout, follow_redirects=False
            )
        except httpx.TimeoutException as e:
            raise self._failed(f"no answer within {timeout:g} s ({type(e).__name__})") from e
        except httpx.HTTPError as e:
            reason = scrub(str(e), self._secrets) or type(e).__name__
            raise self._failed(f"could not be reached: {reason}") from e
        if not response.is_success:
            hint = (
                " (redirects are not followed; use the final URL)" if response.is_redirect else ""
            )
            raise self._failed(
                f"answered HTTP {response.status_code} {response.reason_phrase}{hint}"
            )

    def _failed(self, problem: str) -> DeliveryError:
        return DeliveryError(
            f"{self.display} {problem}; check the URL and that the receiver is up",
            target=self.target.name,
        )
