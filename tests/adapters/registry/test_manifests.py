"""Platform selection and config reading (pure)."""

import datetime as dt

import pytest

from conveyor.adapters.registry import NotFound, Platform, ProtocolError
from conveyor.adapters.registry.manifests import (
    OCI_INDEX,
    parse_created,
    parse_image_config,
    select_platform,
)

INDEX = {
    "mediaType": OCI_INDEX,
    "manifests": [
        {"digest": "sha256:amd", "platform": {"os": "linux", "architecture": "amd64"}},
        {
            "digest": "sha256:armv7",
            "platform": {"os": "linux", "architecture": "arm", "variant": "v7"},
        },
        {"digest": "sha256:att", "platform": {"os": "unknown", "architecture": "unknown"}},
    ],
}


def test_linux_amd64_is_picked_by_default_and_a_variant_when_asked():
    assert select_platform(INDEX, Platform(), where="x") == "sha256:amd"
    assert select_platform(INDEX, Platform.parse("linux/arm/v7"), where="x") == "sha256:armv7"


def test_a_missing_platform_says_which_ones_the_index_has():
    with pytest.raises(NotFound, match="linux/amd64, linux/arm/v7, unknown/unknown"):
        select_platform(INDEX, Platform.parse("linux/s390x"), where="x")


def test_an_index_without_manifests_is_a_protocol_error():
    with pytest.raises(ProtocolError):
        select_platform({"mediaType": OCI_INDEX}, Platform(), where="x")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-01T12:30:00Z", dt.datetime(2024, 3, 1, 12, 30, tzinfo=dt.UTC)),
        (
            "2024-03-01T12:30:00.123456789Z",
            dt.datetime(2024, 3, 1, 12, 30, 0, 123456, tzinfo=dt.UTC),
        ),
        (
            "2024-03-01T14:30:00+02:00",
            dt.datetime(2024, 3, 1, 12, 30, tzinfo=dt.UTC),
        ),
        ("yesterday", None),
        (None, None),
    ],
)
def test_created_times_are_read_with_nanoseconds_and_offsets(text, expected):
    assert parse_created(text) == expected


def test_labels_and_platform_come_from_the_config_blob_and_null_labels_are_empty():
    config = parse_image_config(
        {"created": "2024-03-01T12:30:00Z", "os": "linux", "architecture": "arm64", "config": {}},
        digest="sha256:c",
        where="x",
    )
    assert config.labels == {}
    assert str(config.platform) == "linux/arm64"
    labelled = parse_image_config({"config": {"Labels": {"a": "b"}}}, digest="sha256:c", where="x")
    assert labelled.labels == {"a": "b"}
    assert labelled.created is None


def test_platform_strings_must_have_os_and_architecture():
    with pytest.raises(ValueError, match="not a platform"):
        Platform.parse("amd64")
