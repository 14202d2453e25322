"""Reading CloudEvents 1.0 from an HTTP request (the HTTP protocol binding), in all three modes.

- binary: the attributes are `ce-*` headers (`ce-specversion`, `ce-type`, `ce-source`,
  `ce-id`, ...) and the body is the event's data, as JSON;
- structured: `Content-Type: application/cloudevents+json`, the body is one event with its
  attributes and `data` (or `data_base64`) side by side;
- batched: `Content-Type: application/cloudevents-batch+json`, the body is a list of them.

This module knows the envelope only; what an event type means is for its caller to decide.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from conveyor.core.events import WebhookPayloadError, WebhookRequest
from conveyor.core.webhooks_payload import JsonObject, load_json_object

STRUCTURED_MEDIA_TYPE = "application/cloudevents+json"
BATCH_MEDIA_TYPE = "application/cloudevents-batch+json"
_SUPPORTED_SPEC_VERSIONS = ("1.0",)
_PROVIDER = "cloudevents"


@dataclass(frozen=True)
class CloudEvent:
    """The attributes we use, and the data as a JSON object."""

    type: str
    source: str
    id: str
    data: JsonObject
    subject: str | None = None


def read_cloudevents(request: WebhookRequest) -> list[CloudEvent]:
    """Every CloudEvent in `request`, whichever mode it was sent in."""
    if request.header("ce-specversion") is not None:
        return [_binary_event(request)]
    if request.media_type == BATCH_MEDIA_TYPE:
        return [_structured_event(JsonObject(item, _PROVIDER)) for item in _batch(request.body)]
    if request.media_type == STRUCTURED_MEDIA_TYPE:
        return [_structured_event(load_json_object(request.body, provider=_PROVIDER))]
    raise WebhookPayloadError(
        f"not a CloudEvent: no ce-specversion header and Content-Type is "
        f"{request.media_type or 'missing'!r}; send {STRUCTURED_MEDIA_TYPE} or binary mode"
    )


def _check_spec_version(version: str | None) -> None:
    if version not in _SUPPORTED_SPEC_VERSIONS:
        raise WebhookPayloadError(
            f"cloudevents: specversion {version!r} is not supported (only 1.0)"
        )


def _binary_event(request: WebhookRequest) -> CloudEvent:
    _check_spec_version(request.header("ce-specversion"))
    attributes = {}
    for name in ("type", "source", "id"):
        value = request.header(f"ce-{name}")
        if not value:
            raise WebhookPayloadError(f"cloudevents: binary mode needs the ce-{name} header")
        attributes[name] = value
    if request.media_type and not request.media_type.endswith(("/json", "+json")):
        raise WebhookPayloadError(
            f"cloudevents: data of type {request.media_type!r} is not JSON; send JSON data"
        )
    return CloudEvent(
        type=attributes["type"],
        source=attributes["source"],
        id=attributes["id"],
        data=load_json_object(request.body, provider=_PROVIDER),
        subject=request.header("ce-subject"),
    )


def _structured_event(event: JsonObject) -> CloudEvent:
    _check_spec_version(event.opt_string("specversion"))
    return CloudEvent(
        type=event.string("type"),
        source=event.string("source"),
        id=event.string("id"),
        data=_structured_data(event),
        subject=event.opt_string("subject"),
    )


def _structured_data(event: JsonObject) -> JsonObject:
    if event.has("data_base64"):
        try:
            raw = base64.b64decode(event.string("data_base64"), validate=True)
        except binascii.Error as e:
            raise WebhookPayloadError("cloudevents: data_base64 is not valid base64") from e
        return load_json_object(raw, provider=_PROVIDER)
    return event.obj("data")


def _batch(body: bytes) -> list[dict[str, Any]]:
    try:
        items = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise WebhookPayloadError("cloudevents: the batch body is not valid JSON") from e
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise WebhookPayloadError("cloudevents: a batch must be a JSON list of events")
    return items
