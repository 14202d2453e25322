import http.server
import threading
from dataclasses import dataclass, field
from email.message import Message

import pytest


@pytest.fixture
def anyio_backend():
    return "asyncio"


@dataclass
class ReceivedRequest:
    path: str
    headers: Message  # case-insensitive, like HTTP
    body: bytes


@dataclass
class Receiver:
    """Our own HTTP endpoint on loopback: records every POST and answers by path.

    Paths starting with /fail answer 500, /moved answers 302, everything else 204.
    """

    port: int
    requests: list[ReceivedRequest] = field(default_factory=list)

    def url(self, path: str, *, scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def paths(self) -> list[str]:
        return [request.path for request in self.requests]


@pytest.fixture
def receiver():
    received: list[ReceivedRequest] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            received.append(ReceivedRequest(self.path, self.headers, self.rfile.read(length)))
            if self.path.startswith("/fail"):
                self.send_response(500)
            elif self.path.startswith("/moved"):
                self.send_response(302)
                self.send_header("Location", "/elsewhere")
            else:
                self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield Receiver(port=server.server_address[1], requests=received)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def closed_port():
    """A loopback port nothing listens on (connections are refused)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
