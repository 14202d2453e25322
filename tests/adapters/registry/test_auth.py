"""WWW-Authenticate parsing and Bearer tokens (pure)."""

import pytest

from conveyor.adapters.registry import Credentials, ProtocolError
from conveyor.adapters.registry.auth import (
    DEFAULT_TOKEN_SECONDS,
    EXPIRY_MARGIN_SECONDS,
    TokenCache,
    basic_authorization,
    parse_challenges,
    parse_token_response,
    preferred_challenge,
)


def test_a_docker_hub_bearer_challenge_is_read_with_its_realm_service_and_scope():
    header = (
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
        'scope="repository:library/nginx:pull,push"'
    )
    [challenge] = parse_challenges(header)
    assert challenge.scheme == "bearer"
    assert challenge.realm == "https://auth.docker.io/token"
    assert challenge.service == "registry.docker.io"
    assert challenge.params["scope"] == "repository:library/nginx:pull,push"


def test_several_challenges_in_one_header_are_all_read_and_bearer_is_preferred():
    challenges = parse_challenges('Basic realm="x y", Bearer realm="https://t/token",service=s')
    assert [c.scheme for c in challenges] == ["basic", "bearer"]
    assert challenges[0].realm == "x y"
    assert challenges[1].service == "s"
    assert preferred_challenge(challenges).scheme == "bearer"


def test_escaped_quotes_in_a_challenge_are_unescaped():
    [challenge] = parse_challenges(r'Basic realm="say \"hi\""')
    assert challenge.realm == 'say "hi"'


def test_a_challenge_we_cannot_read_is_a_protocol_error():
    with pytest.raises(ProtocolError):
        parse_challenges('"not a scheme"')


def test_basic_authorization_encodes_user_and_password():
    assert basic_authorization(Credentials("u", "p:w")) == "Basic dTpwOnc="


def test_a_token_lives_as_long_as_the_service_says_less_a_margin():
    token = parse_token_response({"token": "abc", "expires_in": 300}, now=1000.0, realm="r")
    assert token.expires_at == 1000.0 + 300 - EXPIRY_MARGIN_SECONDS
    assert token.authorization == "Bearer abc"


def test_a_token_without_expiry_is_good_for_the_spec_default_and_access_token_is_accepted():
    token = parse_token_response({"access_token": "abc"}, now=0.0, realm="r")
    assert token.expires_at == DEFAULT_TOKEN_SECONDS - EXPIRY_MARGIN_SECONDS


def test_a_token_answer_without_a_token_is_a_protocol_error():
    with pytest.raises(ProtocolError, match="without a token"):
        parse_token_response({"expires_in": 60}, now=0.0, realm="https://t/token")


def test_cached_tokens_are_per_host_and_scope_and_expire():
    cache = TokenCache()
    token = parse_token_response({"token": "t", "expires_in": 60}, now=0.0, realm="r")
    cache.put("h", "repository:a:pull", token)
    assert cache.get("h", "repository:a:pull", now=1.0) is token
    assert cache.get("h", "repository:b:pull", now=1.0) is None
    assert cache.get("other", "repository:a:pull", now=1.0) is None
    assert cache.get("h", "repository:a:pull", now=60.0) is None


def test_secrets_stay_out_of_reprs():
    token = parse_token_response({"token": "s3cret-token"}, now=0.0, realm="r")
    credentials = Credentials("user", "s3cret-password", source="somewhere")
    assert "s3cret" not in repr(token)
    assert "s3cret" not in repr(credentials)
    assert "s3cret" not in str(credentials)
