"""Proving a webhook comes from its provider, before a byte of its body is parsed.

How each provider proves it (as the providers document it):

==============  ===========================================================================
github, ghcr    ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>``
gitea           ``X-Gitea-Signature: <hex HMAC-SHA256 of the body>``
bitbucket       ``X-Hub-Signature: sha256=<hex HMAC-SHA256 of the body>`` (Bitbucket Cloud)
gitlab          ``X-Gitlab-Token: <the secret token>`` (a shared secret, no signature)
dockerhub       Docker Hub signs nothing: the secret is the last path segment of the URL
quay, harbor,   ``Authorization: Bearer <secret>``, ``Basic`` credentials whose password is the
distribution    secret (Quay: put ``user:secret@`` in the webhook URL), or the bare secret
                (Harbor's "Auth Header" field is sent verbatim)
generic (both)  ``X-Conveyor-Signature: sha256=<hex HMAC-SHA256 of the body>``
==============  ===========================================================================

Every comparison is constant-time (`hmac.compare_digest`) so timing leaks nothing about the
secret. Failures raise `WebhookVerificationError` naming the header to check, never a value.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from conveyor.core.events import (
    GitProvider,
    ImageProvider,
    WebhookProviderError,
    WebhookRequest,
    WebhookVerificationError,
)

CONVEYOR_SIGNATURE_HEADER = "X-Conveyor-Signature"


@dataclass(frozen=True)
class WebhookSecrets:
    """The secret configured for each provider; a provider without one accepts nothing."""

    git: Mapping[GitProvider, str] = field(default_factory=dict, repr=False)
    image: Mapping[ImageProvider, str] = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:
        # Say which providers are on, never the secrets themselves.
        return (
            f"WebhookSecrets(git={sorted(p.value for p in self.git)}, "
            f"image={sorted(p.value for p in self.image)})"
        )

    def for_git(self, provider: GitProvider) -> str:
        return _configured(self.git.get(provider), kind="git", provider=provider)

    def for_image(self, provider: ImageProvider) -> str:
        return _configured(self.image.get(provider), kind="image", provider=provider)


def _configured(secret: str | None, *, kind: str, provider: str) -> str:
    if not secret:
        raise WebhookProviderError(
            f"{kind} webhooks from {provider} are switched off: no secret is configured for them"
        )
    return secret


def sign_body(secret: str, body: bytes) -> str:
    """`sha256=<hex>`: the HMAC-SHA256 signature format of GitHub, Bitbucket and conveyor."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def _same(presented: str, expected: str) -> bool:
    # compare_digest on str rejects non-ASCII; bytes compare any header safely.
    return hmac.compare_digest(presented.encode("utf-8"), expected.encode("utf-8"))


def _required_header(request: WebhookRequest, name: str, *, provider: str) -> str:
    value = request.header(name)
    if not value:
        raise WebhookVerificationError(
            f"{provider} webhook: the {name} header is missing; check a secret is set on the "
            "webhook at the provider"
        )
    return value.strip()


def _prefixed_hmac(header: str) -> Verifier:
    def verify(request: WebhookRequest, secret: str, provider: str) -> None:
        presented = _required_header(request, header, provider=provider)
        if not _same(presented.lower(), sign_body(secret, request.body)):
            raise _mismatch(provider, header)

    return verify


def _bare_hmac(header: str) -> Verifier:
    def verify(request: WebhookRequest, secret: str, provider: str) -> None:
        presented = _required_header(request, header, provider=provider)
        expected = sign_body(secret, request.body).removeprefix("sha256=")
        if not _same(presented.lower(), expected):
            raise _mismatch(provider, header)

    return verify


def _token_header(header: str) -> Verifier:
    def verify(request: WebhookRequest, secret: str, provider: str) -> None:
        if not _same(_required_header(request, header, provider=provider), secret):
            raise _mismatch(provider, header)

    return verify


def _authorization_token(request: WebhookRequest, secret: str, provider: str) -> None:
    value = _required_header(request, "Authorization", provider=provider)
    scheme, _, credentials = value.partition(" ")
    candidates = [value]
    if scheme.lower() == "bearer":
        candidates.append(credentials.strip())
    elif scheme.lower() == "basic":
        candidates.append(_basic_password(credentials.strip()))
    # Check every candidate (no early exit) so timing does not tell which form was tried.
    matched = [_same(candidate, secret) for candidate in candidates]
    if not any(matched):
        raise _mismatch(provider, "Authorization")


def _basic_password(credentials: str) -> str:
    try:
        decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return ""
    return decoded.partition(":")[2]


def _mismatch(provider: str, header: str) -> WebhookVerificationError:
    return WebhookVerificationError(
        f"{provider} webhook: the {header} header does not match the configured secret; check "
        "the secret at the provider and in conveyor are the same and the body was not altered"
    )


Verifier = Callable[[WebhookRequest, str, str], None]
"""(request, secret, provider name) -> None, or raise `WebhookVerificationError`."""

_GIT_VERIFIERS: dict[GitProvider, Verifier] = {
    GitProvider.GITHUB: _prefixed_hmac("X-Hub-Signature-256"),
    GitProvider.GITEA: _bare_hmac("X-Gitea-Signature"),
    GitProvider.BITBUCKET: _prefixed_hmac("X-Hub-Signature"),
    GitProvider.GITLAB: _token_header("X-Gitlab-Token"),
    GitProvider.GENERIC: _prefixed_hmac(CONVEYOR_SIGNATURE_HEADER),
}

_IMAGE_VERIFIERS: dict[ImageProvider, Verifier] = {
    ImageProvider.GHCR: _prefixed_hmac("X-Hub-Signature-256"),
    ImageProvider.QUAY: _authorization_token,
    ImageProvider.HARBOR: _authorization_token,
    ImageProvider.DISTRIBUTION: _authorization_token,
    ImageProvider.GENERIC: _prefixed_hmac(CONVEYOR_SIGNATURE_HEADER),
}


def verify_git_webhook(
    provider: GitProvider, request: WebhookRequest, *, secrets: WebhookSecrets
) -> None:
    """Raise unless `request` carries `provider`'s proof made with the configured secret."""
    _GIT_VERIFIERS[provider](request, secrets.for_git(provider), provider.value)


def verify_image_webhook(
    provider: ImageProvider,
    request: WebhookRequest,
    *,
    secrets: WebhookSecrets,
    path_token: str | None = None,
) -> None:
    """Raise unless `request` carries `provider`'s proof; Docker Hub's is `path_token`."""
    secret = secrets.for_image(provider)
    if provider is ImageProvider.DOCKERHUB:
        if not path_token:
            raise WebhookVerificationError(
                "dockerhub webhook: the URL has no token; Docker Hub webhooks must point at "
                "/hooks/image/dockerhub/<token>"
            )
        if not _same(path_token, secret):
            raise WebhookVerificationError(
                "dockerhub webhook: the token in the URL does not match the configured secret"
            )
        return
    _IMAGE_VERIFIERS[provider](request, secret, provider.value)
