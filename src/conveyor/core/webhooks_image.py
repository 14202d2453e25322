"""Image push webhooks into `ImagePushEvent`s: Docker Hub, Quay, Harbor, GHCR, distribution, and
generic CloudEvents (the envelope is read by `webhooks_cloudevents`).

The generic route takes CloudEvents 1.0, structured (`application/cloudevents+json`, also
batches) or binary (`ce-*` headers), of these types::

    dev.conveyor.image.push   data: {"repository": "quay.io/org/app", "tag": "v1",
                                     "digest": "sha256:..."}      (digest optional)
                              or    {"image": "quay.io/org/app:v1[@sha256:...]"}
    harbor.artifact.pushed    data: Harbor's event_data (Harbor's CloudEvents format)

Only tagged pushes become
events: automation chooses among tags, and a push by digest alone (the per-platform manifests
of a multi-arch image, a blob) is always followed by the tagged push that matters. Repository
names come out canonical (`docker.io/library/nginx`), as `ImageRef.canonical_name` spells them,
so they compare equal to the images the manifests reference.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from conveyor.core.events import (
    Ignored,
    ImageParseResult,
    ImageProvider,
    ImagePushEvent,
    WebhookPayloadError,
    WebhookRequest,
)
from conveyor.core.images import DOCKER_HUB
from conveyor.core.webhooks_cloudevents import read_cloudevents
from conveyor.core.webhooks_payload import (
    JsonObject,
    image_repository,
    load_json_object,
    load_request_json,
)


def parse_image_push(provider: ImageProvider, request: WebhookRequest) -> ImageParseResult:
    """The tag pushes a verified `request` from `provider` reports, or why there are none."""
    return _PARSERS[provider](request)


def push_event(
    repository: str, *, tag: str, digest: str | None, provider: ImageProvider
) -> ImagePushEvent:
    """An event for `repository` (any spelling, tag or digest allowed), checked and canonical."""
    ref = image_repository(repository, provider=provider.value)
    checked = image_repository(f"{ref.name}:{tag}", provider=provider.value)
    if digest is not None:
        image_repository(f"{ref.name}@{digest}", provider=provider.value)
    return ImagePushEvent(
        repository=checked.canonical_name, tag=tag, digest=digest, provider=provider
    )


def events_or_ignored(events: Iterable[ImagePushEvent], *, reason: str) -> ImageParseResult:
    """The events found, or `Ignored(reason)` when there are none."""
    found = tuple(events)
    return found if found else Ignored(reason)


def _parse_dockerhub(request: WebhookRequest) -> ImageParseResult:
    payload = load_json_object(request.body, provider="dockerhub")
    repo_name = payload.obj("repository").string("repo_name")
    tag = payload.obj("push_data").string("tag")
    # Docker Hub names carry no host; official images come as "nginx" or "library/nginx".
    return (
        push_event(
            f"{DOCKER_HUB}/{repo_name}", tag=tag, digest=None, provider=ImageProvider.DOCKERHUB
        ),
    )


def _parse_quay(request: WebhookRequest) -> ImageParseResult:
    payload = load_json_object(request.body, provider="quay")
    if not payload.has("updated_tags"):
        # Build, scan and mirror notifications reach the same URL when configured; skip them.
        return Ignored("not a repository push notification (no updated_tags)")
    # docker_url names the host too (quay.io or a self-hosted Quay).
    repository = payload.opt_string("docker_url") or f"quay.io/{payload.string('repository')}"
    return events_or_ignored(
        (
            push_event(repository, tag=tag, digest=None, provider=ImageProvider.QUAY)
            for tag in payload.strings("updated_tags")
        ),
        reason="the push updated no tags",
    )


def _parse_harbor(request: WebhookRequest) -> ImageParseResult:
    payload = load_json_object(request.body, provider="harbor")
    kind = payload.string("type")
    if kind != "PUSH_ARTIFACT":
        return Ignored(f"Harbor event {kind!r} is not an artifact push")
    return harbor_push_events(payload.obj("event_data"))


def harbor_push_events(event_data: JsonObject) -> ImageParseResult:
    """Events from Harbor's `event_data` (shared by its JSON and CloudEvents formats)."""
    events = []
    for resource in event_data.objects("resources"):
        resource_url = resource.string("resource_url")
        ref = image_repository(resource_url, provider="harbor")
        tag = resource.opt_string("tag") or ref.tag
        if tag is None:
            continue
        digest = resource.opt_string("digest") or ref.digest
        events.append(push_event(ref.name, tag=tag, digest=digest, provider=ImageProvider.HARBOR))
    return events_or_ignored(events, reason="the push was by digest only (no tag)")


def _parse_ghcr(request: WebhookRequest) -> ImageParseResult:
    kind = request.header("X-GitHub-Event")
    if not kind:
        raise WebhookPayloadError(
            "ghcr webhook: the X-GitHub-Event header is missing, so the event kind is unknown"
        )
    if kind == "ping":
        return Ignored("ping: the webhook is set up")
    if kind not in ("package", "registry_package"):
        return Ignored(f"GitHub event {kind!r} is not a package event")
    payload = load_request_json(request, provider="ghcr")
    action = payload.opt_string("action")
    if action not in ("published", "updated"):
        return Ignored(f"package action {action!r} is not a publish")
    package = payload.obj(kind)
    package_type = (package.opt_string("package_type") or "").lower()
    if package_type != "container":
        return Ignored(f"package type {package_type!r} is not a container image")
    version = package.obj("package_version")
    metadata = version.opt_obj("container_metadata")
    tag_info = metadata.opt_obj("tag") if metadata else None
    tag = tag_info.opt_string("name") if tag_info else None
    if tag is None:
        return Ignored("the package version is untagged (a push by digest)")
    digest = (tag_info.opt_string("digest") if tag_info else None) or version.opt_string("version")
    return (
        push_event(_ghcr_repository(package), tag=tag, digest=digest, provider=ImageProvider.GHCR),
    )


def _ghcr_repository(package: JsonObject) -> str:
    registry = package.opt_obj("registry")
    registry_url = registry.opt_string("url") if registry else None
    host = (urlsplit(registry_url).hostname if registry_url else None) or "ghcr.io"
    owner_info = package.opt_obj("owner")
    owner = package.opt_string("namespace") or (owner_info.string("login") if owner_info else None)
    if owner is None:
        raise WebhookPayloadError("ghcr payload: the package names no namespace or owner")
    # GHCR lowercases owner and name in image references; the API reports them as written.
    return f"{host}/{owner}/{package.string('name')}".lower()


def _parse_distribution(request: WebhookRequest) -> ImageParseResult:
    envelope = load_json_object(request.body, provider="distribution")
    events = []
    for event in envelope.objects("events"):
        if event.opt_string("action") != "push":
            continue
        target = event.obj("target")
        tag = target.opt_string("tag")
        if tag is None:
            continue  # a blob, or a manifest pushed by digest only
        host = _distribution_host(event, target)
        events.append(
            push_event(
                f"{host}/{target.string('repository')}",
                tag=tag,
                digest=target.opt_string("digest"),
                provider=ImageProvider.DISTRIBUTION,
            )
        )
    return events_or_ignored(events, reason="no tagged manifest was pushed")


def _distribution_host(event: JsonObject, target: JsonObject) -> str:
    """The registry host clients use: the pusher's Host header, else the registry's own."""
    request = event.opt_obj("request")
    if request and request.opt_string("host"):
        return request.string("host")
    target_url = target.opt_string("url")
    if target_url and urlsplit(target_url).netloc:
        return urlsplit(target_url).netloc
    source = event.opt_obj("source")
    if source and source.opt_string("addr"):
        return source.string("addr")
    raise WebhookPayloadError(
        "distribution payload: no request.host, target.url or source.addr names the registry"
    )


CONVEYOR_IMAGE_PUSH_TYPE = "dev.conveyor.image.push"
HARBOR_PUSH_TYPE = "harbor.artifact.pushed"


def _parse_generic(request: WebhookRequest) -> ImageParseResult:
    events: list[ImagePushEvent] = []
    other_types: list[str] = []
    for cloudevent in read_cloudevents(request):
        if cloudevent.type == CONVEYOR_IMAGE_PUSH_TYPE:
            events.append(_conveyor_image_push(cloudevent.data))
        elif cloudevent.type == HARBOR_PUSH_TYPE:
            harbor = harbor_push_events(cloudevent.data)
            events.extend(harbor if isinstance(harbor, tuple) else ())
        else:
            other_types.append(cloudevent.type)
    kinds = ", ".join(repr(kind) for kind in other_types) or "none"
    return events_or_ignored(events, reason=f"no tagged image push (other event types: {kinds})")


def _conveyor_image_push(data: JsonObject) -> ImagePushEvent:
    if data.has("image"):
        ref = image_repository(data.string("image"), provider="generic")
        if ref.tag is None:
            raise WebhookPayloadError("generic payload: data.image has no tag")
        return push_event(ref.name, tag=ref.tag, digest=ref.digest, provider=ImageProvider.GENERIC)
    return push_event(
        data.string("repository"),
        tag=data.string("tag"),
        digest=data.opt_string("digest"),
        provider=ImageProvider.GENERIC,
    )


_PARSERS: dict[ImageProvider, Callable[[WebhookRequest], ImageParseResult]] = {
    ImageProvider.DOCKERHUB: _parse_dockerhub,
    ImageProvider.QUAY: _parse_quay,
    ImageProvider.HARBOR: _parse_harbor,
    ImageProvider.GHCR: _parse_ghcr,
    ImageProvider.DISTRIBUTION: _parse_distribution,
    ImageProvider.GENERIC: _parse_generic,
}
