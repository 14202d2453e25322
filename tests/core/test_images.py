from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conveyor.core.images import (
    ImageRef,
    ImageRefError,
    image_created_time,
    parse_image_ref,
    parse_timestamp,
)

SHA = "sha256:" + "0123456789abcdef" * 4


@pytest.mark.parametrize(
    ("text", "registry", "repository", "tag", "digest"),
    [
        ("nginx", "", "nginx", None, None),
        ("nginx:1.2", "", "nginx", "1.2", None),
        ("library/nginx:1.2", "", "library/nginx", "1.2", None),
        ("docker.io/nginx", "docker.io", "nginx", None, None),
        (
            "index.docker.io/library/nginx:latest",
            "index.docker.io",
            "library/nginx",
            "latest",
            None,
        ),
        ("ghcr.io/org/app:v1", "ghcr.io", "org/app", "v1", None),
        (f"127.0.0.1:5000/team/app:1.0@{SHA}", "127.0.0.1:5000", "team/app", "1.0", SHA),
        (f"nginx@{SHA}", "", "nginx", None, SHA),
        ("localhost/app", "localhost", "app", None, None),
        ("localhost:5000/app:dev", "localhost:5000", "app", "dev", None),
        ("quay.io/a/b/c:tag", "quay.io", "a/b/c", "tag", None),
        ("[::1]:5000/app:1", "[::1]:5000", "app", "1", None),
        ("Registry/app", "Registry", "app", None, None),  # uppercase: a host, never a path
        ("my-org/my_app.v2__x:1_0-RC.1", "", "my-org/my_app.v2__x", "1_0-RC.1", None),
        ("localhost:5000", "", "localhost", "5000", None),  # Docker reads this the same way
    ],
)
def test_parse_keeps_the_written_form(text, registry, repository, tag, digest):
    ref = parse_image_ref(text)
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == (
        registry,
        repository,
        tag,
        digest,
    )
    assert str(ref) == text
    assert ImageRef.parse(text) == ref


@pytest.mark.parametrize(
    ("text", "canonical_registry", "api_host", "canonical_repository"),
    [
        ("nginx", "docker.io", "registry-1.docker.io", "library/nginx"),
        ("docker.io/nginx", "docker.io", "registry-1.docker.io", "library/nginx"),
        ("index.docker.io/nginx", "docker.io", "registry-1.docker.io", "library/nginx"),
        ("bitnami/redis", "docker.io", "registry-1.docker.io", "bitnami/redis"),
        ("ghcr.io/org/app", "ghcr.io", "ghcr.io", "org/app"),
        ("GHCR.io/org/app", "ghcr.io", "ghcr.io", "org/app"),
        ("127.0.0.1:5000/app", "127.0.0.1:5000", "127.0.0.1:5000", "app"),
        ("localhost/app", "localhost", "localhost", "app"),
        # The API host is Docker Hub too: the registry adapter and the edits treat it so.
        ("registry-1.docker.io/app", "docker.io", "registry-1.docker.io", "library/app"),
    ],
)
def test_canonical_forms(text, canonical_registry, api_host, canonical_repository):
    ref = parse_image_ref(text)
    assert ref.canonical_registry == canonical_registry
    assert ref.api_host == api_host
    assert ref.canonical_repository == canonical_repository
    assert ref.canonical_name == f"{canonical_registry}/{canonical_repository}"


@pytest.mark.parametrize(
    "spellings",
    [
        [
            "nginx",
            "nginx:1.2",
            "library/nginx:1.3",
            "docker.io/nginx",
            "index.docker.io/library/nginx",
        ],
        ["ghcr.io/org/app:v1", "GHCR.IO/org/app", f"ghcr.io/org/app@{SHA}"],
    ],
)
def test_spellings_of_one_repository_compare_equal(spellings):
    refs = [parse_image_ref(text) for text in spellings]
    assert len({ref.canonical_name for ref in refs}) == 1
    assert all(refs[0].same_repository(ref) for ref in refs)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("nginx", "org/nginx"),
        ("ghcr.io/org/app", "quay.io/org/app"),
        ("localhost/app", "app"),
        ("localhost:5000/app", "localhost:5001/app"),
    ],
)
def test_different_repositories_differ(first, second):
    assert not parse_image_ref(first).same_repository(parse_image_ref(second))


@pytest.mark.parametrize(
    ("text", "tag", "expected"),
    [
        ("nginx:1.2", "1.3", "nginx:1.3"),
        ("nginx", "1.3", "nginx:1.3"),
        ("library/nginx:1.2", "1.3", "library/nginx:1.3"),
        ("docker.io/nginx:1.2", "1.3", "docker.io/nginx:1.3"),
        (f"127.0.0.1:5000/team/app:1.0@{SHA}", "1.1", "127.0.0.1:5000/team/app:1.1"),
        (f"ghcr.io/org/app@{SHA}", "v2", "ghcr.io/org/app:v2"),
    ],
)
def test_with_tag_keeps_the_written_form(text, tag, expected):
    assert str(parse_image_ref(text).with_tag(tag)) == expected


def test_with_digest_pins_and_keeps_the_tag():
    assert str(parse_image_ref("nginx:1.2").with_digest(SHA)) == f"nginx:1.2@{SHA}"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "empty"),
        (" nginx", "whitespace"),
        ("Nginx", "must be lowercase"),
        ("org/Nginx:1", "must be lowercase"),
        ("nginx:", "tag '' is not valid"),
        ("nginx:-1", "tag '-1' is not valid"),
        ("nginx:.1", "tag '.1' is not valid"),
        ("nginx:a+b", "tag 'a+b' is not valid"),
        ("nginx:" + "a" * 129, "longer than 128"),
        ("nginx@sha256:abc", "is not 'algorithm:hex'"),
        ("nginx@sha256:" + "A" * 64, "64 lowercase hex"),
        ("nginx@sha256:" + "a" * 63, "64 lowercase hex"),
        ("nginx@sha256:" + "a" * 31, "is not 'algorithm:hex'"),
        ("nginx@sha256:" + "a" * 65, "64 lowercase hex"),
        ("nginx@md5", "is not 'algorithm:hex'"),
        ("a//b", "empty path component"),
        ("org/-app", "'-app' is not a valid repository path"),
        ("org/app_", "'app_' is not a valid repository path"),
        ("org/a___b", "'a___b' is not a valid repository path"),
        ("ghcr.io/", "empty path component"),
        ("bad_host.io/app", "'bad_host.io' is not a valid host"),
        ("host:port/app", "'host:port' is not a valid host"),
        (":1.0", "repository name is missing"),
        ("0123456789abcdef" * 4, "image ID"),
        ("a" * 256, "longer than 255"),
    ],
)
def test_invalid_references_say_what_is_wrong(text, problem):
    with pytest.raises(ImageRefError, match="invalid image reference") as raised:
        parse_image_ref(text)
    assert problem in str(raised.value)
    assert isinstance(raised.value, ValueError)


@pytest.mark.parametrize("tag", ["", "-x", "a b", "x" * 129])
def test_with_tag_rejects_invalid_tags(tag):
    with pytest.raises(ImageRefError):
        parse_image_ref("nginx:1").with_tag(tag)


def test_longest_valid_tag_is_accepted():
    assert parse_image_ref("nginx:" + "a" * 128).tag == "a" * 128


# -- property tests -------------------------------------------------------------------------

_alnum = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=6)
_separator = st.sampled_from([".", "_", "__", "-", "--"])
_component = st.builds(
    lambda first, rest: first + "".join(sep + part for sep, part in rest),
    _alnum,
    st.lists(st.tuples(_separator, _alnum), max_size=2),
)
_domain_label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,5}[a-z0-9])?", fullmatch=True)
_host = st.one_of(
    st.just(""),
    st.just("localhost"),
    st.builds(lambda labels: ".".join(labels), st.lists(_domain_label, min_size=2, max_size=3)),
    st.builds(lambda host, port: f"{host}:{port}", _domain_label, st.integers(1, 65535)),
)
_tag = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}", fullmatch=True)
_digest = st.from_regex(r"sha256:[a-f0-9]{64}", fullmatch=True)


@st.composite
def _written_references(draw):
    host = draw(_host)
    components = draw(st.lists(_component, min_size=1, max_size=3))
    if not host and len(components) > 1 and ("." in components[0] or components[0] == "localhost"):
        # Without a host, a first component that looks like one would be read as a host.
        components = ["x", *components]
    text = "/".join(([host] if host else []) + components)
    if tag := draw(st.none() | _tag):
        text += f":{tag}"
    if digest := draw(st.none() | _digest):
        text += f"@{digest}"
    return text


@given(_written_references(), _tag)
def test_parse_render_and_with_tag_round_trip(text, new_tag):
    ref = parse_image_ref(text)
    assert str(ref) == text
    retagged = ref.with_tag(new_tag)
    reparsed = parse_image_ref(str(retagged))
    assert reparsed == retagged
    assert (reparsed.registry, reparsed.repository) == (ref.registry, ref.repository)
    assert reparsed.tag == new_tag
    assert reparsed.digest is None
    assert reparsed.same_repository(ref)


# -- build times ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-02T03:04:05Z", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2024-01-02T03:04:05.123456789Z", datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)),
        ("2024-01-02T05:04:05+02:00", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2024-01-02T03:04:05", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("yesterday", None),
        ("", None),
    ],
)
def test_parse_timestamp(text, expected):
    assert parse_timestamp(text) == expected


def test_parse_timestamp_returns_utc():
    parsed = parse_timestamp("2024-01-02T05:04:05+02:00")
    assert parsed is not None
    assert parsed.utcoffset() == timedelta(0)
    assert parsed.tzinfo != timezone(timedelta(hours=2))


LABEL_TIME = "2024-05-01T10:00:00Z"
CONFIG_TIME = "1980-01-01T00:00:01Z"


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (
            {
                "created": CONFIG_TIME,
                "config": {"Labels": {"org.opencontainers.image.created": LABEL_TIME}},
            },
            LABEL_TIME,
        ),
        ({"created": CONFIG_TIME, "config": {"Labels": None}}, CONFIG_TIME),
        ({"created": CONFIG_TIME, "config": {}}, CONFIG_TIME),
        ({"created": CONFIG_TIME}, CONFIG_TIME),
        (
            {
                "created": CONFIG_TIME,
                "config": {"Labels": {"org.opencontainers.image.created": "?"}},
            },
            CONFIG_TIME,
        ),
        ({"config": {"Labels": {"other": LABEL_TIME}}}, None),
        ({"created": 12}, None),
        ({}, None),
    ],
)
def test_image_created_time_prefers_the_oci_label(config, expected):
    assert image_created_time(config) == (parse_timestamp(expected) if expected else None)
