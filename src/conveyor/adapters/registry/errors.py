"""Errors of the registry adapter (the tree is drawn in the package docstring).

Every message names the registry host and says what to check next; none ever contains a
password, a token or an ``Authorization`` header.
"""

from __future__ import annotations


class RegistryError(Exception):
    """Anything that went wrong talking to an OCI registry."""


class InvalidRepositoryName(RegistryError, ValueError):
    """A repository name that the OCI distribution grammar does not allow."""


class CredentialsError(RegistryError):
    """Credentials could not be read: a broken docker config, pull secret or helper."""


class AuthError(RegistryError):
    """The registry (or its token service) refused us.

    ``source`` says which credentials were used ("anonymous" when none were found), never the
    secret itself.
    """

    def __init__(self, message: str, *, host: str, source: str) -> None:
        super().__init__(message)
        self.host = host
        self.source = source


class NotFound(RegistryError):
    """The repository, tag, digest or platform does not exist (or is hidden from us)."""


class RateLimited(RegistryError):
    """The registry kept answering 429; ``retry_after`` is how long it asked us to wait."""

    def __init__(self, message: str, *, host: str, retry_after: float) -> None:
        super().__init__(message)
        self.host = host
        self.retry_after = retry_after


class RegistryUnavailable(RegistryError):
    """The registry could not be reached or kept failing with 5xx answers."""


class ProtocolError(RegistryError):
    """The registry answered something the distribution API does not allow."""
