import pytest

from conveyor.adapters.notify.redact import redact_url, scrub, url_secret_fragments


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://hooks.slack.com/services/T1/B2/secret", "https://hooks.slack.com/***"),
        ("https://user:pw@example.com:8443/", "https://example.com:8443/***"),
        ("https://example.com/?sig=abc", "https://example.com/***"),
        ("https://example.com/", "https://example.com/"),
        ("json://127.0.0.1:9000", "json://127.0.0.1:9000/"),
        ("not a url", "<unparseable url>"),
        ("http://[::1:bad/", "<unparseable url>"),
    ],
)
def test_redact_url(url, shown):
    assert redact_url(url) == shown


def test_scrub_replaces_every_secret_fragment_of_a_url():
    url = "json://robot:Pa%24%24word@host/hook/TokenAbc123?key=QueryKey99"
    message = (
        "POST to json://robot:Pa$$word@host/hook/TokenAbc123 failed; key QueryKey99, pw Pa$$word"
    )
    cleaned = scrub(message, url_secret_fragments(url))
    for secret in ("Pa$$word", "TokenAbc123", "QueryKey99", "robot"):
        assert secret not in cleaned
    assert "failed" in cleaned


def test_scrub_leaves_short_words_alone():
    assert scrub("error at /a/b", ["a", "b", ""]) == "error at /a/b"
