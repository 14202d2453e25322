import base64
import json

import pytest

from conveyor.core.events import (
    Ignored,
    ImageProvider,
    ImagePushEvent,
    WebhookPayloadError,
    WebhookRequest,
)
from conveyor.core.webhooks_image import parse_image_push
from tests.core.test_webhooks_image import DIGEST, events, harbor_event

# CloudEvents 1.0 on the generic image route, in binary, structured and batched mode.

CONVEYOR_DATA = {"repository": "quay.io/acme/app", "tag": "v1.4.2", "digest": DIGEST}
EXPECTED_GENERIC = ImagePushEvent(
    repository="quay.io/acme/app", tag="v1.4.2", digest=DIGEST, provider=ImageProvider.GENERIC
)


def structured(data, *, type_="dev.conveyor.image.push", **extra):
    return {
        "specversion": "1.0",
        "type": type_,
        "source": "https://ci.example.com/pipelines/42",
        "id": "b7f5c1d2-0000-4000-8000-000000000001",
        "time": "2026-01-31T12:00:00Z",
        "datacontenttype": "application/json",
        "data": data,
        **extra,
    }


def test_cloudevents_structured_mode():
    request = WebhookRequest(
        headers={"Content-Type": "application/cloudevents+json; charset=utf-8"},
        body=json.dumps(structured(CONVEYOR_DATA)).encode(),
    )
    assert events(parse_image_push(ImageProvider.GENERIC, request)) == [EXPECTED_GENERIC]


def test_cloudevents_binary_mode():
    request = WebhookRequest(
        headers={
            "Content-Type": "application/json",
            "ce-specversion": "1.0",
            "ce-type": "dev.conveyor.image.push",
            "ce-source": "https://ci.example.com/pipelines/42",
            "ce-id": "42",
        },
        body=json.dumps({"image": f"quay.io/acme/app:v1.4.2@{DIGEST}"}).encode(),
    )
    assert events(parse_image_push(ImageProvider.GENERIC, request)) == [EXPECTED_GENERIC]


def test_cloudevents_batch_with_base64_data_and_harbor_and_other_types():
    batch = [
        {
            **structured(None),
            "data": None,
            "data_base64": base64.b64encode(json.dumps(CONVEYOR_DATA).encode()).decode(),
        },
        structured(harbor_event()["event_data"], type_="harbor.artifact.pushed"),
        structured({"anything": 1}, type_="com.example.build.finished"),
    ]
    request = WebhookRequest(
        headers={"Content-Type": "application/cloudevents-batch+json"},
        body=json.dumps(batch).encode(),
    )
    result = events(parse_image_push(ImageProvider.GENERIC, request))
    assert result[0] == EXPECTED_GENERIC
    assert result[1].repository == "harbor.example.com/library/app"


def test_cloudevents_of_other_types_are_ignored():
    request = WebhookRequest(
        headers={"Content-Type": "application/cloudevents+json"},
        body=json.dumps(structured({"x": 1}, type_="com.example.build.finished")).encode(),
    )
    result = parse_image_push(ImageProvider.GENERIC, request)
    assert isinstance(result, Ignored)
    assert "com.example.build.finished" in result.reason


@pytest.mark.parametrize(
    ("headers", "body", "message"),
    [
        ({"Content-Type": "application/json"}, b"{}", "not a CloudEvent"),
        (
            {"Content-Type": "application/cloudevents+json"},
            json.dumps(structured(CONVEYOR_DATA, specversion="0.3")).encode(),
            "specversion",
        ),
        ({"ce-specversion": "1.0", "ce-source": "s", "ce-id": "1"}, b"{}", "ce-type"),
        (
            {
                "ce-specversion": "1.0",
                "ce-type": "dev.conveyor.image.push",
                "ce-source": "s",
                "ce-id": "1",
                "Content-Type": "text/plain",
            },
            b"quay.io/acme/app:v1",
            "not JSON",
        ),
        (
            {"Content-Type": "application/cloudevents+json"},
            json.dumps(structured({"image": "quay.io/acme/app"})).encode(),
            "no tag",
        ),
    ],
)
def test_cloudevents_payload_errors(headers, body, message):
    with pytest.raises(WebhookPayloadError, match=message):
        parse_image_push(ImageProvider.GENERIC, WebhookRequest(headers=headers, body=body))
