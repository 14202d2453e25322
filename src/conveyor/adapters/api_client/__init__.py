"""The api_client adapter: conveyor's own HTTP API, as the CLI's verbs reach it.

:class:`ApiClient` talks to a running ``conveyor daemon`` at a base URL with its bearer token and
returns the JSON answers as plain data (the CLI formats them). It is synchronous: a CLI verb
makes one request at a time, and ``release --watch`` polls from a second thread.

Errors::

    ApiClientError          anything that kept a request from getting a usable answer
    ├── ApiUnreachable      no answer: a bad --url, nothing listening, a timeout, not JSON
    ├── Unauthorized        401/403: the token is missing or wrong (check --token / CONVEYOR_TOKEN)
    └── ApiRejected         the API answered with an error; its message is the server's
                            ``detail``, ``status`` the HTTP status (404: a route this daemon
                            does not serve)

The token never appears in an error, a log line or a repr.
"""

from conveyor.adapters.api_client.client import DEFAULT_TIMEOUT, ApiClient
from conveyor.adapters.api_client.errors import (
    ApiClientError,
    ApiRejected,
    ApiUnreachable,
    Unauthorized,
)

__all__ = [
    "DEFAULT_TIMEOUT",
    "ApiClient",
    "ApiClientError",
    "ApiRejected",
    "ApiUnreachable",
    "Unauthorized",
]
