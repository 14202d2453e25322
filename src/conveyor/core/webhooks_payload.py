"""Reading provider JSON safely: typed access that fails with `WebhookPayloadError`.

Every provider's parser walks nested JSON; `JsonObject` does the walking so a missing or
mistyped field becomes one clear error naming the provider and the field path (never the
body, which may be large and is not ours to log).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from conveyor.core.events import WebhookPayloadError, WebhookRequest
from conveyor.core.images import ImageRef, ImageRefError, parse_image_ref


@dataclass(frozen=True)
class JsonObject:
    """A JSON object from `provider`'s payload, found at `path` ("" for the top level)."""

    data: dict[str, Any]
    provider: str
    path: str = ""

    def _where(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def _fail(self, key: str, expected: str) -> WebhookPayloadError:
        return WebhookPayloadError(
            f"{self.provider} payload: expected {expected} at {self._where(key)!r}; "
            "check the webhook is configured for the event this endpoint takes"
        )

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def string(self, key: str) -> str:
        value = self.data.get(key)
        if not isinstance(value, str) or not value:
            raise self._fail(key, "a non-empty string")
        return value

    def opt_string(self, key: str) -> str | None:
        value = self.data.get(key)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise self._fail(key, "a string")
        return value

    def flag(self, key: str) -> bool:
        value = self.data.get(key, False)
        if not isinstance(value, bool):
            raise self._fail(key, "true or false")
        return value

    def obj(self, key: str) -> JsonObject:
        value = self.data.get(key)
        if not isinstance(value, dict):
            raise self._fail(key, "an object")
        return JsonObject(value, self.provider, self._where(key))

    def opt_obj(self, key: str) -> JsonObject | None:
        if self.data.get(key) is None:
            return None
        return self.obj(key)

    def objects(self, key: str) -> Iterator[JsonObject]:
        """The objects of the list at `key` (a missing key is an empty list)."""
        value = self.data.get(key, [])
        if not isinstance(value, list):
            raise self._fail(key, "a list")
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                raise self._fail(f"{key}[{index}]", "an object")
            yield JsonObject(item, self.provider, f"{self._where(key)}[{index}]")

    def strings(self, key: str) -> list[str]:
        value = self.data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise self._fail(key, "a list of strings")
        return list(value)


def load_json_object(body: bytes, *, provider: str) -> JsonObject:
    """The top-level JSON object of a body."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise WebhookPayloadError(
            f"{provider} payload: the body is not valid JSON ({type(e).__name__} at "
            f"position {getattr(e, 'pos', getattr(e, 'start', '?'))}); check the webhook's "
            "content type is JSON"
        ) from e
    if not isinstance(data, dict):
        raise WebhookPayloadError(f"{provider} payload: the body is JSON but not an object")
    return JsonObject(data, provider)


def load_request_json(request: WebhookRequest, *, provider: str) -> JsonObject:
    """The JSON payload of a request, also when sent form-encoded as `payload=<json>`.

    GitHub and Gitea let a webhook use `application/x-www-form-urlencoded`, which wraps the
    same JSON document in a `payload` form field.
    """
    if request.media_type != "application/x-www-form-urlencoded":
        return load_json_object(request.body, provider=provider)
    try:
        fields = parse_qs(request.body.decode("utf-8"), strict_parsing=True)
    except (UnicodeDecodeError, ValueError) as e:
        raise WebhookPayloadError(f"{provider} payload: the form body is malformed") from e
    payloads = fields.get("payload", [])
    if len(payloads) != 1:
        raise WebhookPayloadError(
            f"{provider} payload: a form-encoded body needs exactly one 'payload' field"
        )
    return load_json_object(payloads[0].encode("utf-8"), provider=provider)


def image_repository(reference: str, *, provider: str) -> ImageRef:
    """Parse an image name (tag and digest allowed) reported by a registry."""
    try:
        return parse_image_ref(reference)
    except ImageRefError as e:
        raise WebhookPayloadError(f"{provider} payload: {e}") from e
