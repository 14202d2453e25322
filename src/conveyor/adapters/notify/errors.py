"""Errors of the notify adapter (the tree is drawn in the package docstring).

No message ever contains a webhook token, a password or a full URL: URLs appear redacted to
`scheme://host/***`, and any text that came back from a service is scrubbed of every secret
fragment of the target before it is kept.
"""

from __future__ import annotations


class NotifyError(Exception):
    """Anything wrong with sending notifications."""


class TargetConfigError(NotifyError, ValueError):
    """A target that cannot work as configured: a malformed URL, a missing recipient."""

    def __init__(self, message: str, *, target: str) -> None:
        super().__init__(f"notify target {target!r}: {message}")
        self.target = target


class DeliveryError(NotifyError):
    """One target could not be reached or refused the message.

    `Notifier.send` never raises it: it becomes that target's `DeliveryResult.error`, so one
    broken target never stops the others.
    """

    def __init__(self, message: str, *, target: str) -> None:
        super().__init__(f"notify target {target!r}: {message}")
        self.target = target
