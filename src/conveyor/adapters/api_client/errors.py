"""Errors of the api_client adapter (the tree is drawn in the package docstring)."""

from __future__ import annotations


class ApiClientError(Exception):
    """A request to conveyor's API did not get a usable answer."""


class ApiUnreachable(ApiClientError):
    """No answer from the API: wrong URL, nothing listening, a timeout, or not conveyor."""


class Unauthorized(ApiClientError):
    """The API refused the bearer token (401), or the token may not do this (403)."""


class ApiRejected(ApiClientError):
    """The API answered with an error status; ``message`` is the server's own explanation."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
