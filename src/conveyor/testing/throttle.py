"""A loopback reverse proxy in front of a real test registry that answers some requests 429.

It forwards every request to the registry it fronts, except the first ``throttle_first`` ones
(and every request inside a window opened with :meth:`ThrottleProxy.throttle_for`), which get
``429 Too Many Requests`` with a ``Retry-After`` header. It records when each request arrived, so
a test can check that a client waited as long as it was told before coming back: a protocol
check on the client, with the real registry still answering everything else.

Run in-process (threads), e.g. from a pytest fixture::

    with ThrottleProxy(endpoint.url, throttle_first=1) as proxy:
        ...  # use proxy.host as the registry host (an insecure one)
"""

from __future__ import annotations

import email.message
import http.client
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import urlsplit

# Headers that describe one connection, not the message: never forwarded either way.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "proxy-connection",
    }
)
TOO_MANY_REQUESTS_BODY = b'{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}'


@dataclass(frozen=True)
class Arrival:
    """One request as the proxy saw it; ``at`` is ``time.monotonic()`` on arrival."""

    at: float
    method: str
    path: str
    status: int


class _Handler(BaseHTTPRequestHandler):
    server: _ProxyServer
    protocol_version = "HTTP/1.1"  # keep-alive, like a real registry

    def log_message(self, format: str, *args: object) -> None:
        pass  # the arrivals list is the log

    def _handle(self) -> None:
        arrived = time.monotonic()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        proxy = self.server.proxy
        if proxy.should_throttle(arrived):
            self._reply(429, {"Retry-After": proxy.retry_after}, TOO_MANY_REQUESTS_BODY)
            proxy.record(Arrival(arrived, self.command, self.path, 429))
            return
        status, headers, answer = proxy.forward(self.command, self.path, self.headers, body)
        self._reply(status, headers, answer)
        proxy.record(Arrival(arrived, self.command, self.path, status))

    def _reply(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if "Content-Length" not in headers:
            self.send_header("Content-Length", str(len(body)))
        if status == 429:
            self.send_header("Content-Type", "application/json")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = do_PATCH = _handle


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, proxy: ThrottleProxy) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.proxy = proxy


class ThrottleProxy:
    """Forwards to ``upstream`` (``http://127.0.0.1:PORT``), throttling as configured."""

    def __init__(self, upstream: str, *, throttle_first: int = 0, retry_after: str = "2") -> None:
        parts = urlsplit(upstream)
        if parts.scheme != "http" or not parts.hostname or not parts.port:
            raise ValueError(f"upstream must be http://HOST:PORT, not {upstream!r}")
        self._upstream = (parts.hostname, parts.port)
        self.retry_after = retry_after
        self._lock = threading.Lock()
        self._to_throttle = throttle_first
        self._window_until = 0.0
        self._arrivals: list[Arrival] = []
        self._server = _ProxyServer(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="throttle-proxy", daemon=True
        )

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT``: use it as the registry host (configured insecure)."""
        return f"127.0.0.1:{self._server.server_address[1]}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def start(self) -> ThrottleProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> ThrottleProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- configuration and records --------------------------------------------------------------

    def throttle_next(self, count: int) -> None:
        """Answer the next ``count`` requests with 429."""
        with self._lock:
            self._to_throttle = count

    def throttle_for(self, seconds: float) -> None:
        """Answer every request arriving in the next ``seconds`` with 429."""
        with self._lock:
            self._window_until = time.monotonic() + seconds

    def should_throttle(self, arrived: float) -> bool:
        with self._lock:
            if arrived < self._window_until:
                return True
            if self._to_throttle > 0:
                self._to_throttle -= 1
                return True
            return False

    def record(self, arrival: Arrival) -> None:
        with self._lock:
            self._arrivals.append(arrival)

    @property
    def arrivals(self) -> list[Arrival]:
        with self._lock:
            return sorted(self._arrivals, key=lambda a: a.at)

    def clear(self) -> None:
        with self._lock:
            self._arrivals.clear()

    # -- forwarding -----------------------------------------------------------------------------

    def forward(
        self, method: str, path: str, headers: email.message.Message, body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        """Send one request to the upstream registry; (status, headers, body)."""
        connection = http.client.HTTPConnection(*self._upstream, timeout=30)
        try:
            # Host stays the proxy's, so Link and Location URLs the registry builds lead back here.
            sent = {
                name: value
                for name, value in headers.items()
                if name.lower() not in HOP_BY_HOP and name.lower() != "content-length"
            }
            connection.request(method, path, body=body or None, headers=sent)
            response = connection.getresponse()
            answer = response.read()
            received = {
                name: value
                for name, value in response.getheaders()
                if name.lower() not in HOP_BY_HOP and name.lower() != "content-length"
            }
            if method == "HEAD" and response.getheader("Content-Length"):
                # A HEAD answer carries the length of the body a GET would have sent.
                received["Content-Length"] = response.getheader("Content-Length", "")
            return response.status, received, answer
        finally:
            connection.close()
