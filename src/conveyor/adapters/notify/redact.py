"""Keeping target secrets out of errors and logs.

Chat webhooks carry their credential in the URL path (Slack, Discord), the query (Teams'
`sig=`) or the userinfo (`json://user:pass@host`), so the only safe way to show such a URL is
`scheme://host[:port]/***`. Text that comes back from a service or a library is scrubbed of
every fragment of the target's URLs and passwords that could be a secret.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import parse_qsl, unquote, urlsplit

REDACTED = "***"
# Shorter fragments ("v1", "api") are path words, not credentials; scrubbing them would only
# garble messages.
_MIN_SECRET_LENGTH = 4


def redact_url(url: str) -> str:
    """`scheme://host[:port]/***` (or `/` when there is nothing after the host to hide)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<unparseable url>"
    if not parts.scheme or not host:
        return "<unparseable url>"
    hidden = bool(parts.path.strip("/") or parts.query or parts.fragment or parts.username)
    return f"{parts.scheme}://{host}{port}/{REDACTED if hidden else ''}"


def url_secret_fragments(url: str) -> list[str]:
    """Every part of `url` that may be secret: userinfo, path segments, query values."""
    try:
        parts = urlsplit(url)
        username, password = parts.username, parts.password
    except ValueError:
        return [url]
    fragments = [url, username or "", password or ""]
    fragments += parts.path.split("/")
    fragments += [value for _, value in parse_qsl(parts.query, keep_blank_values=False)]
    fragments += parts.query.split("&")
    return fragments


def scrub(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret (raw and percent-decoded) replaced by `***`."""
    candidates: set[str] = set()
    for secret in secrets:
        if secret:
            candidates.update({secret, unquote(secret)})
    # Longest first, so a URL is replaced whole before its path segments are.
    for candidate in sorted(candidates, key=len, reverse=True):
        if len(candidate) >= _MIN_SECRET_LENGTH:
            text = text.replace(candidate, REDACTED)
    return text
