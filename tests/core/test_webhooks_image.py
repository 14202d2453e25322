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

DIGEST = "sha256:" + "3b1f9c0e7a5d2b4c6e8f0a1b3c5d7e9f" * 2
OTHER_DIGEST = "sha256:" + "a" * 64
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"

# Sample payloads, shaped like the providers' documented deliveries.


def dockerhub_push(repo_name="acme/app", tag="v1.4.2"):
    namespace, _, name = repo_name.rpartition("/")
    return {
        "callback_url": f"https://registry.hub.docker.com/u/{repo_name}/hook/2141b5bi5i5b02bec211i4eeih0242eg11000a/",
        "push_data": {"pushed_at": 1735689600, "pusher": "ci-bot", "tag": tag, "images": []},
        "repository": {
            "comment_count": 0,
            "date_created": 1700000000,
            "description": "",
            "is_official": not namespace,
            "is_private": True,
            "is_trusted": False,
            "name": name,
            "namespace": namespace or "library",
            "owner": namespace or "library",
            "repo_name": repo_name,
            "repo_url": f"https://registry.hub.docker.com/u/{repo_name}/",
            "star_count": 0,
            "status": "Active",
        },
    }


def quay_push(tags=("v1.4.2", "latest"), docker_url="quay.io/acme/app"):
    return {
        "name": "app",
        "repository": "acme/app",
        "namespace": "acme",
        "docker_url": docker_url,
        "homepage": "https://quay.io/repository/acme/app",
        "updated_tags": list(tags),
    }


def harbor_event(kind="PUSH_ARTIFACT", resources=None):
    if resources is None:
        resources = [
            {
                "digest": DIGEST,
                "tag": "v1.4.2",
                "resource_url": "harbor.example.com/library/app:v1.4.2",
            }
        ]
    return {
        "type": kind,
        "occur_at": 1735689600,
        "operator": "robot$ci",
        "event_data": {
            "resources": resources,
            "repository": {
                "date_created": 1700000000,
                "name": "app",
                "namespace": "library",
                "repo_full_name": "library/app",
                "repo_type": "private",
            },
        },
    }


def ghcr_package(*, action="published", package_type="CONTAINER", tag="v1.4.2"):
    return {
        "action": action,
        "package": {
            "id": 98765,
            "name": "App",
            "namespace": "Acme",
            "ecosystem": package_type,
            "package_type": package_type,
            "html_url": "https://github.com/orgs/Acme/packages/container/package/App",
            "owner": {"login": "Acme", "type": "Organization"},
            "package_version": {
                "id": 555,
                "version": DIGEST,
                "name": DIGEST,
                "container_metadata": {
                    "tag": {"name": tag, "digest": DIGEST},
                    "labels": {},
                    "manifest": {},
                },
                "package_url": f"ghcr.io/acme/app:{tag}",
            },
            "registry": {
                "about_url": "https://docs.github.com/packages",
                "name": "GitHub CR",
                "type": "docker",
                "url": "https://ghcr.io/acme",
                "vendor": "GitHub Inc",
            },
        },
        "repository": {"full_name": "Acme/app"},
        "sender": {"login": "ci-bot"},
    }


def distribution_event(
    *,
    action="push",
    tag="v1.4.2",
    media_type=MANIFEST,
    digest=DIGEST,
    host="registry.example.com:5000",
):
    target = {
        "mediaType": media_type,
        "size": 1234,
        "digest": digest,
        "length": 1234,
        "repository": "team/app",
        "url": f"http://{host}/v2/team/app/manifests/{digest}",
    }
    if tag is not None:
        target["tag"] = tag
    return {
        "id": "0d3e2c1a-5b4f-4e6d-8c7b-9a0f1e2d3c4b",
        "timestamp": "2026-01-31T12:00:00.000000000Z",
        "action": action,
        "target": target,
        "request": {
            "id": "7f3d0a1e-1111-2222-3333-444455556666",
            "addr": "10.0.0.7:53422",
            "host": host,
            "method": "PUT" if action == "push" else "GET",
            "useragent": "containerd/1.7",
        },
        "actor": {"name": "ci"},
        "source": {"addr": "registry-0:5000", "instanceID": "c1b2"},
    }


def json_request(payload, **headers):
    return WebhookRequest(
        headers={"Content-Type": "application/json", **headers},
        body=json.dumps(payload).encode(),
    )


def events(result) -> list[ImagePushEvent]:
    assert isinstance(result, tuple), result
    return list(result)


@pytest.mark.parametrize(
    ("repo_name", "canonical"),
    [("acme/app", "docker.io/acme/app"), ("nginx", "docker.io/library/nginx")],
)
def test_dockerhub_push(repo_name, canonical):
    result = parse_image_push(ImageProvider.DOCKERHUB, json_request(dockerhub_push(repo_name)))
    assert events(result) == [
        ImagePushEvent(
            repository=canonical, tag="v1.4.2", digest=None, provider=ImageProvider.DOCKERHUB
        )
    ]


def test_dockerhub_without_push_data_is_a_payload_error():
    payload = dockerhub_push()
    del payload["push_data"]
    with pytest.raises(WebhookPayloadError, match="'push_data'"):
        parse_image_push(ImageProvider.DOCKERHUB, json_request(payload))


def test_invalid_tag_in_a_payload_is_a_payload_error():
    with pytest.raises(WebhookPayloadError, match="dockerhub payload"):
        parse_image_push(ImageProvider.DOCKERHUB, json_request(dockerhub_push(tag="no spaces!")))


def test_quay_push_gives_one_event_per_updated_tag():
    result = events(parse_image_push(ImageProvider.QUAY, json_request(quay_push())))
    assert [(e.repository, e.tag) for e in result] == [
        ("quay.io/acme/app", "v1.4.2"),
        ("quay.io/acme/app", "latest"),
    ]
    hosted = parse_image_push(
        ImageProvider.QUAY,
        json_request(quay_push(tags=["v2"], docker_url="quay.corp.example/acme/app")),
    )
    assert events(hosted)[0].repository == "quay.corp.example/acme/app"


def test_quay_notifications_that_are_not_pushes_are_ignored():
    build = {"build_id": "296ec063", "docker_url": "quay.io/acme/app", "docker_tags": ["latest"]}
    assert isinstance(parse_image_push(ImageProvider.QUAY, json_request(build)), Ignored)
    assert isinstance(
        parse_image_push(ImageProvider.QUAY, json_request(quay_push(tags=[]))), Ignored
    )


def test_harbor_push_artifact():
    result = events(parse_image_push(ImageProvider.HARBOR, json_request(harbor_event())))
    assert result == [
        ImagePushEvent(
            repository="harbor.example.com/library/app",
            tag="v1.4.2",
            digest=DIGEST,
            provider=ImageProvider.HARBOR,
        )
    ]


def test_harbor_other_events_and_digest_only_pushes_are_ignored():
    pulled = parse_image_push(
        ImageProvider.HARBOR, json_request(harbor_event(kind="PULL_ARTIFACT"))
    )
    assert isinstance(pulled, Ignored)
    assert "PULL_ARTIFACT" in pulled.reason
    digest_only = harbor_event(
        resources=[
            {
                "digest": DIGEST,
                "tag": "",
                "resource_url": f"harbor.example.com/library/app@{DIGEST}",
            }
        ]
    )
    assert isinstance(parse_image_push(ImageProvider.HARBOR, json_request(digest_only)), Ignored)


def test_ghcr_published_container_package():
    request = json_request(ghcr_package(), **{"X-GitHub-Event": "package"})
    assert events(parse_image_push(ImageProvider.GHCR, request)) == [
        ImagePushEvent(
            repository="ghcr.io/acme/app", tag="v1.4.2", digest=DIGEST, provider=ImageProvider.GHCR
        )
    ]


@pytest.mark.parametrize(
    ("payload", "event_kind"),
    [
        ({"zen": "Design for failure.", "hook_id": 2}, "ping"),
        (ghcr_package(package_type="npm"), "package"),
        (ghcr_package(tag=""), "package"),
        ({"action": "created"}, "push"),
    ],
)
def test_ghcr_non_container_pushes_are_ignored(payload, event_kind):
    request = json_request(payload, **{"X-GitHub-Event": event_kind})
    assert isinstance(parse_image_push(ImageProvider.GHCR, request), Ignored)


def test_distribution_envelope_keeps_only_tagged_manifest_pushes():
    envelope = {
        "events": [
            distribution_event(tag=None, media_type=LAYER, digest=OTHER_DIGEST),
            distribution_event(tag=None, digest=OTHER_DIGEST),
            distribution_event(),
            distribution_event(action="pull"),
        ]
    }
    request = WebhookRequest(
        headers={"Content-Type": "application/vnd.docker.distribution.events.v1+json"},
        body=json.dumps(envelope).encode(),
    )
    assert events(parse_image_push(ImageProvider.DISTRIBUTION, request)) == [
        ImagePushEvent(
            repository="registry.example.com:5000/team/app",
            tag="v1.4.2",
            digest=DIGEST,
            provider=ImageProvider.DISTRIBUTION,
        )
    ]


def test_distribution_host_falls_back_to_the_target_url():
    event = distribution_event(host="127.0.0.1:5001")
    del event["request"]
    result = events(parse_image_push(ImageProvider.DISTRIBUTION, json_request({"events": [event]})))
    assert result[0].repository == "127.0.0.1:5001/team/app"


def test_distribution_with_only_pulls_is_ignored():
    envelope = {"events": [distribution_event(action="pull")]}
    assert isinstance(parse_image_push(ImageProvider.DISTRIBUTION, json_request(envelope)), Ignored)
