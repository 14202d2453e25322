"""Structured logs: JSON lines for stdlib, uvicorn and structlog loggers, with secrets redacted."""

import io
import json
import logging

import pytest
import structlog

from conveyor.daemon.logging import REDACTED, Redactor, configure_logging

SECRET = "hunter2-but-longer"


@pytest.fixture
def captured():
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    stream = io.StringIO()
    redactor = configure_logging(stream=stream, redactor=Redactor([SECRET]))
    yield stream, redactor
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    structlog.reset_defaults()


def lines(stream):
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_uvicorn_access_lines_lose_the_docker_hub_path_token(captured):
    stream, _ = captured
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d',
        "10.0.0.1:5000",
        "POST",
        "/hooks/image/dockerhub/abcdef123456?x=1",
        "1.1",
        202,
    )
    [line] = lines(stream)
    assert (
        line["event"]
        == f'10.0.0.1:5000 - "POST /hooks/image/dockerhub/{REDACTED}?x=1 HTTP/1.1" 202'
    )
    assert (line["logger"], line["level"]) == ("uvicorn.access", "info")
    assert "timestamp" in line


def test_registered_secrets_are_redacted_in_messages_fields_and_tracebacks(captured):
    stream, redactor = captured
    redactor.add("another-secret-value")
    logging.getLogger("conveyor.test").warning("token is %s", SECRET)
    structlog.get_logger("conveyor.test").info("bound", header=f"Bearer {SECRET}", nested=[SECRET])
    try:
        raise ValueError("failed with another-secret-value")
    except ValueError:
        logging.getLogger("conveyor.test").exception("boom")
    text = stream.getvalue()
    assert SECRET not in text and "another-secret-value" not in text
    first, second, third = lines(stream)
    assert first["event"] == f"token is {REDACTED}"
    assert (second["header"], second["nested"]) == (f"Bearer {REDACTED}", [REDACTED])
    assert f"ValueError: failed with {REDACTED}" in third["exception"]


def test_short_values_are_not_treated_as_secrets():
    redactor = Redactor(["ab"])
    assert redactor.redact("tab stop") == "tab stop"
    assert "0 secrets" in repr(redactor)
