import base64
import hashlib
import hmac

import pytest

from conveyor.core.events import (
    GitProvider,
    ImageProvider,
    WebhookProviderError,
    WebhookRequest,
    WebhookVerificationError,
)
from conveyor.core.webhooks_verify import (
    WebhookSecrets,
    sign_body,
    verify_git_webhook,
    verify_image_webhook,
)

SECRET = "s3cr3t-Shared-Value"
BODY = b'{"ref": "refs/heads/main", "after": "0123abcd"}'
TAMPERED = b'{"ref": "refs/heads/evil", "after": "0123abcd"}'
SECRETS = WebhookSecrets(
    git={provider: SECRET for provider in GitProvider},
    image={provider: SECRET for provider in ImageProvider},
)


def reference_hmac(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# How each provider proves a body: the header it sends, computed the provider's way.
GIT_PROOFS = {
    GitProvider.GITHUB: lambda body: {
        "X-Hub-Signature-256": "sha256=" + reference_hmac(SECRET, body)
    },
    GitProvider.GITEA: lambda body: {"X-Gitea-Signature": reference_hmac(SECRET, body)},
    GitProvider.BITBUCKET: lambda body: {
        "X-Hub-Signature": "sha256=" + reference_hmac(SECRET, body)
    },
    GitProvider.GITLAB: lambda body: {"X-Gitlab-Token": SECRET},
    GitProvider.GENERIC: lambda body: {
        "X-Conveyor-Signature": "sha256=" + reference_hmac(SECRET, body)
    },
}
IMAGE_PROOFS = {
    ImageProvider.GHCR: GIT_PROOFS[GitProvider.GITHUB],
    ImageProvider.QUAY: lambda body: {"Authorization": basic("conveyor", SECRET)},
    ImageProvider.HARBOR: lambda body: {"Authorization": SECRET},
    ImageProvider.DISTRIBUTION: lambda body: {"Authorization": f"Bearer {SECRET}"},
    ImageProvider.GENERIC: GIT_PROOFS[GitProvider.GENERIC],
}
SIGNED_PROVIDERS = [
    GitProvider.GITHUB,
    GitProvider.GITEA,
    GitProvider.BITBUCKET,
    GitProvider.GENERIC,
]


def test_sign_body_is_hmac_sha256_hex_with_prefix():
    assert sign_body(SECRET, BODY) == "sha256=" + reference_hmac(SECRET, BODY)


@pytest.mark.parametrize("provider", list(GitProvider))
def test_git_providers_accept_their_own_proof(provider):
    request = WebhookRequest(headers=GIT_PROOFS[provider](BODY), body=BODY)
    verify_git_webhook(provider, request, secrets=SECRETS)


@pytest.mark.parametrize("provider", [p for p in ImageProvider if p is not ImageProvider.DOCKERHUB])
def test_image_providers_accept_their_own_proof(provider):
    request = WebhookRequest(headers=IMAGE_PROOFS[provider](BODY), body=BODY)
    verify_image_webhook(provider, request, secrets=SECRETS)


@pytest.mark.parametrize("provider", list(GitProvider))
def test_missing_proof_is_rejected_naming_the_header(provider):
    header = next(iter(GIT_PROOFS[provider](BODY)))
    with pytest.raises(WebhookVerificationError, match=header):
        verify_git_webhook(provider, WebhookRequest(headers={}, body=BODY), secrets=SECRETS)


@pytest.mark.parametrize("provider", SIGNED_PROVIDERS)
def test_tampered_body_fails_the_signature(provider):
    request = WebhookRequest(headers=GIT_PROOFS[provider](BODY), body=TAMPERED)
    with pytest.raises(WebhookVerificationError) as raised:
        verify_git_webhook(provider, request, secrets=SECRETS)
    assert SECRET not in str(raised.value)
    assert reference_hmac(SECRET, BODY) not in str(raised.value)


@pytest.mark.parametrize("provider", SIGNED_PROVIDERS)
def test_signature_made_with_another_secret_is_rejected(provider):
    other = WebhookSecrets(git={provider: "another-secret"})
    request = WebhookRequest(headers=GIT_PROOFS[provider](BODY), body=BODY)
    with pytest.raises(WebhookVerificationError, match="does not match"):
        verify_git_webhook(provider, request, secrets=other)


def test_github_rejects_a_sha1_signature_in_the_sha256_header():
    sha1 = hmac.new(SECRET.encode(), BODY, hashlib.sha1).hexdigest()
    request = WebhookRequest(headers={"X-Hub-Signature-256": f"sha1={sha1}"}, body=BODY)
    with pytest.raises(WebhookVerificationError):
        verify_git_webhook(GitProvider.GITHUB, request, secrets=SECRETS)


def test_header_names_match_case_insensitively_and_hex_case_is_ignored():
    signature = "sha256=" + reference_hmac(SECRET, BODY).upper()
    request = WebhookRequest(headers={"x-hub-signature-256": signature}, body=BODY)
    verify_git_webhook(GitProvider.GITHUB, request, secrets=SECRETS)


def test_gitlab_token_must_match_exactly():
    request = WebhookRequest(headers={"X-Gitlab-Token": SECRET + "x"}, body=BODY)
    with pytest.raises(WebhookVerificationError, match="X-Gitlab-Token"):
        verify_git_webhook(GitProvider.GITLAB, request, secrets=SECRETS)


def test_non_ascii_header_is_a_mismatch_not_a_crash():
    request = WebhookRequest(headers={"X-Gitlab-Token": "sécret"}, body=BODY)
    with pytest.raises(WebhookVerificationError):
        verify_git_webhook(GitProvider.GITLAB, request, secrets=SECRETS)


@pytest.mark.parametrize(
    "authorization",
    [f"Bearer {SECRET}", f"bearer {SECRET}", basic("anyone", SECRET), SECRET],
)
@pytest.mark.parametrize(
    "provider", [ImageProvider.QUAY, ImageProvider.HARBOR, ImageProvider.DISTRIBUTION]
)
def test_authorization_token_forms(provider, authorization):
    request = WebhookRequest(headers={"Authorization": authorization}, body=BODY)
    verify_image_webhook(provider, request, secrets=SECRETS)


@pytest.mark.parametrize(
    "authorization",
    ["Bearer wrong", basic(SECRET, "wrong"), "Basic !!not-base64!!", f"Token {SECRET}x"],
)
def test_authorization_token_rejections(authorization):
    request = WebhookRequest(headers={"Authorization": authorization}, body=BODY)
    with pytest.raises(WebhookVerificationError, match="Authorization") as raised:
        verify_image_webhook(ImageProvider.DISTRIBUTION, request, secrets=SECRETS)
    assert SECRET not in str(raised.value)


def test_dockerhub_token_comes_from_the_path():
    request = WebhookRequest(headers={}, body=BODY)
    verify_image_webhook(ImageProvider.DOCKERHUB, request, secrets=SECRETS, path_token=SECRET)
    with pytest.raises(WebhookVerificationError, match="does not match"):
        verify_image_webhook(ImageProvider.DOCKERHUB, request, secrets=SECRETS, path_token="guess")
    with pytest.raises(WebhookVerificationError, match="no token"):
        verify_image_webhook(ImageProvider.DOCKERHUB, request, secrets=SECRETS)


def test_provider_without_a_secret_is_switched_off():
    secrets = WebhookSecrets(git={GitProvider.GITHUB: SECRET})
    request = WebhookRequest(headers=GIT_PROOFS[GitProvider.GITLAB](BODY), body=BODY)
    with pytest.raises(WebhookProviderError, match="switched off"):
        verify_git_webhook(GitProvider.GITLAB, request, secrets=secrets)
    with pytest.raises(WebhookProviderError):
        verify_image_webhook(ImageProvider.QUAY, request, secrets=secrets)


def test_secrets_repr_names_providers_but_not_secrets():
    text = repr(
        WebhookSecrets(git={GitProvider.GITHUB: SECRET}, image={ImageProvider.QUAY: SECRET})
    )
    assert SECRET not in text
    assert "github" in text
    assert "quay" in text
