"""The dashboard's login sessions, CSRF tokens and flash messages, all signed with the API token.

A person logs in with the daemon's API token; the browser then holds a session cookie that is
*not* the token: ``v1.<nonce>.<name>.<issued>.<signature>``, signed with HMAC-SHA256 under a key
derived from the token (so the token cannot be read back from a cookie, and changing the token
ends every session). The random nonce makes each login distinct and keys its CSRF token, which
every form carries in a hidden field. Flash messages (the one-line outcome shown after a form
POST and its 303 redirect) travel in a second cookie, signed the same way so no other site can
plant text on a page.

Nothing here does I/O; the routes in :mod:`conveyor.api.dashboard` set and read the cookies.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "DEFAULT_USER",
    "FLASH_COOKIE",
    "SESSION_COOKIE",
    "Flash",
    "Session",
    "SessionKeys",
    "user_name",
]

SESSION_COOKIE = "conveyor_session"
FLASH_COOKIE = "conveyor_flash"
DEFAULT_USER = "dashboard"
"""Who history names for an action taken by someone who gave no name at login."""

_MAX_NAME = 64
_MAX_FLASH = 1500  # characters: the cookie must stay well under browsers' 4 KB limit
_KEY_LABEL = b"conveyor dashboard cookie key v1"

FlashKind = Literal["ok", "warn", "error"]


@dataclass(frozen=True)
class Session:
    """A logged-in browser: who (as typed at login) and when the login happened."""

    nonce: str
    user: str
    issued: int  # Unix seconds


@dataclass(frozen=True)
class Flash:
    """The outcome of the last action, shown once on the next page."""

    kind: FlashKind
    text: str


def user_name(typed: str) -> str:
    """The name to record in history: printable, one line, at most 64 characters."""
    printable = "".join(" " if unicodedata.category(c)[0] == "C" else c for c in typed)
    name = " ".join(printable.split())[:_MAX_NAME]
    return name or DEFAULT_USER


class SessionKeys:
    """Signs and checks sessions, CSRF tokens and flashes with a key derived from the token."""

    def __init__(
        self, token: str, *, max_age: int = 12 * 3600, clock: Callable[[], float] = time.time
    ) -> None:
        if not token:
            raise ValueError("the API token is empty; the dashboard would be open to anyone")
        self._token = token.encode("utf-8")
        # A derived key: a leaked cookie signature says nothing usable about the token itself.
        self._key = hmac.new(self._token, _KEY_LABEL, hashlib.sha256).digest()
        self.max_age = max_age
        self._clock = clock

    def __repr__(self) -> str:
        return f"SessionKeys(max_age={self.max_age})"

    def token_matches(self, offered: str) -> bool:
        return hmac.compare_digest(offered.encode("utf-8"), self._token)

    # -- sessions -------------------------------------------------------------------------

    def issue(self, user: str) -> tuple[Session, str]:
        """A new session for ``user`` and its cookie value."""
        session = Session(secrets.token_urlsafe(18), user_name(user), int(self._clock()))
        body = f"v1.{session.nonce}.{_b64(session.user)}.{session.issued}"
        return session, f"{body}.{self._sign('session', body)}"

    def read(self, cookie: str | None) -> Session | None:
        """The session of a cookie, or None when missing, forged, malformed or expired."""
        if not cookie:
            return None
        body, _, signature = cookie.rpartition(".")
        if not _same(signature, self._sign("session", body)):
            return None
        parts = body.split(".")
        if len(parts) != 4 or parts[0] != "v1" or not parts[3].isdigit():
            return None
        issued = int(parts[3])
        age = self._clock() - issued
        if age < -60 or age > self.max_age:  # a minute of clock skew is forgiven
            return None
        try:
            user = _unb64(parts[2])
        except ValueError:
            return None
        return Session(parts[1], user, issued)

    # -- CSRF -----------------------------------------------------------------------------

    def csrf(self, session: Session) -> str:
        """The hidden form field of this session; another site cannot compute it."""
        return self._sign("csrf", session.nonce)

    def csrf_matches(self, session: Session, offered: str) -> bool:
        return _same(offered, self.csrf(session))

    # -- flashes --------------------------------------------------------------------------

    def seal_flash(self, flash: Flash) -> str:
        payload = _b64(json.dumps({"kind": flash.kind, "text": flash.text[:_MAX_FLASH]}))
        return f"{payload}.{self._sign('flash', payload)}"

    def open_flash(self, sealed: str | None) -> Flash | None:
        if not sealed:
            return None
        payload, _, signature = sealed.rpartition(".")
        if not _same(signature, self._sign("flash", payload)):
            return None
        try:
            data = json.loads(_unb64(payload))
        except ValueError:
            return None
        kind = data.get("kind") if isinstance(data, dict) else None
        if kind not in ("ok", "warn", "error") or not isinstance(data.get("text"), str):
            return None
        return Flash(kind, data["text"])

    def _sign(self, purpose: str, text: str) -> str:
        # The purpose is part of the message: a CSRF token is never a valid session signature.
        message = f"{purpose}|{text}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()


def _same(offered: str, expected: str) -> bool:
    """Constant-time equality; bytes, so text a browser sent in any alphabet cannot raise."""
    return hmac.compare_digest(offered.encode("utf-8"), expected.encode("utf-8"))


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii").rstrip("=")


def _unb64(text: str) -> str:
    """Raises ValueError (binascii.Error and UnicodeDecodeError are ValueErrors) on bad input."""
    padded = text + "=" * (-len(text) % 4)
    return base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8")
