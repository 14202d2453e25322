"""A small Bearer-token issuer for the token-auth registry of the test environment.

It speaks the Docker token protocol the way Docker Hub does: ``GET /token?service=S&scope=...``
with optional basic auth. Good credentials get the actions they asked for; no credentials get an
anonymous token with ``pull`` only; wrong credentials get 401. Tokens are ES256 JWTs whose ``kid``
is the libtrust id of the signing key, which docker/distribution checks against its root bundle.

Run as ``python -m conveyor.testing.token_issuer --port P --key K --users FILE --service S``.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hmac
import json
import secrets
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from conveyor.testing.pki import libtrust_key_id

ISSUER = "conveyor-test-token-issuer"
TOKEN_TTL_SECONDS = 300


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def sign_token(
    key: ec.EllipticCurvePrivateKey,
    *,
    subject: str,
    service: str,
    access: list[dict[str, object]],
    now: float | None = None,
) -> str:
    """An ES256 JWT granting ``access`` to ``subject`` for ``service``."""
    issued = int(now if now is not None else time.time())
    header = {"typ": "JWT", "alg": "ES256", "kid": libtrust_key_id(key.public_key())}
    claims = {
        "iss": ISSUER,
        "sub": subject,
        "aud": service,
        "iat": issued,
        "nbf": issued - 10,
        "exp": issued + TOKEN_TTL_SECONDS,
        "jti": secrets.token_hex(8),
        "access": access,
    }
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    der = key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    return f"{signing_input}.{_b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def granted_access(scopes: list[str], *, authenticated: bool) -> list[dict[str, object]]:
    """The access entries to grant for requested ``scope`` parameters."""
    access: list[dict[str, object]] = []
    for scope in scopes:
        parts = scope.split(":")
        if len(parts) < 3:
            continue
        kind, name, actions = parts[0], ":".join(parts[1:-1]), parts[-1].split(",")
        allowed = actions if authenticated else [a for a in actions if a == "pull"]
        if kind == "registry" and not authenticated:
            allowed = []
        access.append({"type": kind, "name": name, "actions": allowed})
    return access


class _Handler(BaseHTTPRequestHandler):
    server: _IssuerServer

    def log_message(self, format: str, *args: object) -> None:
        # One line per request, never the Authorization header.
        print(f"token-issuer: {self.command} {self.path.split('?')[0]} {args[1:2]}")

    def _reply(self, status: HTTPStatus, body: dict[str, object]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if status == HTTPStatus.UNAUTHORIZED:
            self.send_header("WWW-Authenticate", 'Basic realm="conveyor-test-token-issuer"')
        self.end_headers()
        self.wfile.write(data)

    def _user(self) -> tuple[str | None, bool]:
        """(user, ok): ``(None, True)`` for anonymous, ``(name, False)`` for bad credentials."""
        header = self.headers.get("Authorization", "")
        if not header:
            return None, True
        if not header.startswith("Basic "):
            return None, False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None, False
        expected = self.server.users.get(user)
        ok = expected is not None and hmac.compare_digest(expected, password)
        return user, ok

    def do_GET(self) -> None:
        url = urlparse(self.path)
        if url.path != "/token":
            self._reply(HTTPStatus.NOT_FOUND, {"errors": [{"message": "not found"}]})
            return
        query = parse_qs(url.query)
        service = query.get("service", [""])[0]
        if service != self.server.service:
            self._reply(
                HTTPStatus.BAD_REQUEST, {"errors": [{"message": f"unknown service {service!r}"}]}
            )
            return
        user, ok = self._user()
        if not ok:
            self._reply(HTTPStatus.UNAUTHORIZED, {"errors": [{"message": "invalid credentials"}]})
            return
        access = granted_access(query.get("scope", []), authenticated=user is not None)
        token = sign_token(
            self.server.key, subject=user or "anonymous", service=service, access=access
        )
        self._reply(
            HTTPStatus.OK, {"token": token, "access_token": token, "expires_in": TOKEN_TTL_SECONDS}
        )


class _IssuerServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self, port: int, key: ec.EllipticCurvePrivateKey, users: dict[str, str], service: str
    ) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.key = key
        self.users = users
        self.service = service


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--key", type=Path, required=True, help="PEM EC private key")
    parser.add_argument("--users", type=Path, required=True, help="JSON object user -> password")
    parser.add_argument("--service", required=True)
    args = parser.parse_args()
    key = serialization.load_pem_private_key(args.key.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise SystemExit(f"{args.key}: expected an EC private key")
    users = json.loads(args.users.read_text())
    server = _IssuerServer(args.port, key, users, args.service)
    print(f"token-issuer: listening on 127.0.0.1:{args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
