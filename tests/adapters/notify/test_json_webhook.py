import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest

from conveyor.adapters.notify import (
    JSON_WEBHOOK_SCHEMA,
    DeliveryError,
    JsonWebhookTarget,
    Notification,
    NotificationEvent,
    notification_body,
)
from conveyor.adapters.notify.json_webhook import JsonWebhookSender
from conveyor.core.events import ImageProvider, WebhookRequest
from conveyor.core.webhooks_verify import WebhookSecrets, verify_image_webhook

SECRET = "hook-signing-secret"
PATH_TOKEN = "T0kenInThePath42"
RELEASE = Notification(
    event_type=NotificationEvent.RELEASE,
    title="Released app v1.4.2 to production",
    body="2 workloads updated by automation",
    fields={
        "workload": "production:deployment/app",
        "image": "quay.io/acme/app:v1.4.2",
        "ünï": "✓",
    },
)


def test_body_is_the_documented_document():
    sent_at = datetime(2026, 1, 31, 13, 0, tzinfo=timezone(timedelta(hours=1)))
    document = json.loads(notification_body(RELEASE, delivery_id="abc", sent_at=sent_at))
    assert document == {
        "schema": JSON_WEBHOOK_SCHEMA,
        "id": "abc",
        "event_type": "release",
        "title": RELEASE.title,
        "body": RELEASE.body,
        "fields": dict(RELEASE.fields),
        "sent_at": "2026-01-31T12:00:00Z",
    }


@pytest.mark.anyio
async def test_signed_delivery_to_a_real_receiver(receiver):
    target = JsonWebhookTarget(
        name="ops",
        url=receiver.url(f"/hooks/{PATH_TOKEN}"),
        secret=SECRET,
        headers={"X-Team": "ops"},
    )
    async with httpx.AsyncClient() as client:
        await JsonWebhookSender(target, client=client).send(RELEASE, timeout=5)

    [request] = receiver.requests
    assert request.path == f"/hooks/{PATH_TOKEN}"
    document = json.loads(request.body)
    assert (document["event_type"], document["title"], document["fields"]) == (
        "release",
        RELEASE.title,
        dict(RELEASE.fields),
    )
    assert abs(
        datetime.strptime(document["sent_at"], "%Y-%m-%dT%H:%M:%S%z") - datetime.now(UTC)
    ) < timedelta(minutes=5)
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Conveyor-Event"] == "release"
    assert request.headers["X-Conveyor-Delivery"] == document["id"]
    assert request.headers["X-Team"] == "ops"
    expected = hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-Conveyor-Signature"] == f"sha256={expected}"
    # conveyor's own generic inbound webhook accepts what its notifier signs.
    verify_image_webhook(
        ImageProvider.GENERIC,
        WebhookRequest(headers=request.headers, body=request.body),
        secrets=WebhookSecrets(image={ImageProvider.GENERIC: SECRET}),
    )


@pytest.mark.anyio
async def test_unsigned_when_no_secret(receiver):
    async with httpx.AsyncClient() as client:
        await JsonWebhookSender(
            JsonWebhookTarget(name="plain", url=receiver.url("/plain")), client=client
        ).send(RELEASE, timeout=5)
    [request] = receiver.requests
    assert "X-Conveyor-Signature" not in request.headers
    assert json.loads(request.body)["schema"] == JSON_WEBHOOK_SCHEMA


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("path", "problem"),
    [(f"/fail/{PATH_TOKEN}", "HTTP 500"), (f"/moved/{PATH_TOKEN}", "redirects are not followed")],
)
async def test_refusals_are_delivery_errors_without_the_token(receiver, path, problem):
    target = JsonWebhookTarget(name="ops", url=receiver.url(path), secret=SECRET)
    async with httpx.AsyncClient() as client:
        with pytest.raises(DeliveryError, match=problem) as raised:
            await JsonWebhookSender(target, client=client).send(RELEASE, timeout=5)
    assert PATH_TOKEN not in str(raised.value)
    assert SECRET not in str(raised.value)
    assert f"http://127.0.0.1:{receiver.port}/***" in str(raised.value)
    assert receiver.paths() == [path]


@pytest.mark.anyio
async def test_unreachable_receiver_is_a_delivery_error(closed_port):
    target = JsonWebhookTarget(
        name="gone", url=f"http://user:pw-{PATH_TOKEN}@127.0.0.1:{closed_port}/x/{PATH_TOKEN}"
    )
    async with httpx.AsyncClient() as client:
        with pytest.raises(DeliveryError, match="could not be reached") as raised:
            await JsonWebhookSender(target, client=client).send(RELEASE, timeout=5)
    assert PATH_TOKEN not in str(raised.value)


def test_target_repr_hides_url_secret_and_headers():
    target = JsonWebhookTarget(
        name="ops",
        url=f"https://hooks.example.com/{PATH_TOKEN}",
        secret=SECRET,
        headers={"Authorization": "Bearer abc123"},
    )
    assert PATH_TOKEN not in repr(target)
    assert SECRET not in repr(target)
    assert "abc123" not in repr(target)
