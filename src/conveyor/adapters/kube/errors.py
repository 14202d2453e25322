"""The kube adapter's errors (the tree is drawn in the package docstring)."""

from __future__ import annotations


class KubeError(Exception):
    """Anything that went wrong talking to the Kubernetes API."""


class ApiUnavailable(KubeError):
    """The apiserver could not be reached, or kept answering 5xx/429, until the retry deadline."""


class Rejected(KubeError):
    """The apiserver refused a request (invalid object, forbidden, conflict...).

    ``status`` is the HTTP status; ``message`` is the apiserver's own explanation.
    """

    def __init__(self, message: str, *, status: int, reason: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.reason = reason


class NotFound(Rejected):
    """The object (or the API path) does not exist."""

    def __init__(self, message: str) -> None:
        super().__init__(message, status=404, reason="NotFound")


class UnknownKind(KubeError):
    """API discovery does not know this apiVersion/kind (a missing CRD, or a typo)."""


class WaitTimeout(KubeError):
    """A condition waited for (a CRD becoming Established) did not arrive in time."""
