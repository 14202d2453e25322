"""Structured logs: one JSON object per line, for conveyor's own loggers and everyone else's.

conveyor's modules log through the standard library (``logging.getLogger(__name__)``), and so
do uvicorn and the libraries under it; structlog loggers may be used too. All of them end in the
one handler installed here, whose :class:`structlog.stdlib.ProcessorFormatter` adds a timestamp,
the level and the logger's name and renders JSON (or, for people at a terminal, aligned text).

Before anything is rendered, :class:`Redactor` replaces

- the secret in Docker Hub webhook paths (``/hooks/image/dockerhub/<token>``: uvicorn's access
  log would otherwise print it with every delivery), and
- every secret value the daemon registered (the API token, webhook secrets, HTTP passwords),

in the message, in every text field and in formatted tracebacks.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

__all__ = ["REDACTED", "Redactor", "configure_logging"]

REDACTED = "***"
_DOCKERHUB_PATH = re.compile(r"(/hooks/image/dockerhub/)[^/\s?#\"']+")
# Secrets shorter than this are not replaced: "1" or "ab" would scramble every line.
_MIN_SECRET_LENGTH = 6


class Redactor:
    """A structlog processor that removes secrets from every text value of an event."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: list[str] = []
        self.add(*secrets)

    def __repr__(self) -> str:
        return f"Redactor({len(self._secrets)} secrets)"

    def add(self, *secrets: str) -> None:
        """Also redact these values from now on (longest first, so none is half-replaced)."""
        fresh = {s for s in secrets if len(s) >= _MIN_SECRET_LENGTH} - set(self._secrets)
        self._secrets = sorted([*self._secrets, *fresh], key=len, reverse=True)

    def redact(self, text: str) -> str:
        text = _DOCKERHUB_PATH.sub(rf"\g<1>{REDACTED}", text)
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text

    def __call__(self, logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
        cleaned: EventDict = self._clean(event_dict)
        return cleaned

    def _clean(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, MutableMapping):
            for key, item in value.items():
                value[key] = self._clean(item)
            return value
        if isinstance(value, list | tuple):
            return type(value)(self._clean(item) for item in value)
        return value


def configure_logging(
    *,
    level: str = "info",
    json_format: bool = True,
    redactor: Redactor | None = None,
    stream: TextIO | None = None,
) -> Redactor:
    """Send every log record (stdlib and structlog) through one redacting, structured handler.

    Replaces the root logger's handlers, and empties uvicorn's own so its records propagate
    here. Returns the redactor, to register secrets as they are read.
    """
    redactor = redactor or Redactor()
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Processor = (
        structlog.processors.JSONRenderer(sort_keys=False)
        if json_format
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redactor,
            renderer,
        ],
    )
    structlog.configure(
        processors=[
            *shared,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
        uvicorn_logger.setLevel(logging.NOTSET)
    # httpx logs every request at info; the registry client's counters already say that.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    return redactor
