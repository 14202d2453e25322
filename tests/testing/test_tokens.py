"""Pure parts of the token issuer and the PKI."""

import base64
import json
import re

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from conveyor.testing.pki import libtrust_key_id
from conveyor.testing.token_issuer import granted_access, sign_token


def b64decode(part):
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def test_key_id_has_the_libtrust_shape():
    kid = libtrust_key_id(ec.generate_private_key(ec.SECP256R1()).public_key())
    assert re.fullmatch(r"([A-Z2-7]{4}:){11}[A-Z2-7]{4}", kid)


def test_token_is_a_verifiable_es256_jwt():
    key = ec.generate_private_key(ec.SECP256R1())
    access = [{"type": "repository", "name": "a/b", "actions": ["pull"]}]
    token = sign_token(key, subject="u", service="svc", access=access, now=1000)
    header, claims, signature = token.split(".")
    assert json.loads(b64decode(header)) == {
        "typ": "JWT",
        "alg": "ES256",
        "kid": libtrust_key_id(key.public_key()),
    }
    body = json.loads(b64decode(claims))
    assert (body["sub"], body["aud"], body["access"], body["exp"]) == ("u", "svc", access, 1300)
    raw = b64decode(signature)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    key.public_key().verify(der, f"{header}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))


def test_anonymous_access_is_pull_only():
    scopes = ["repository:team/app:pull,push", "registry:catalog:*"]
    assert granted_access(scopes, authenticated=False) == [
        {"type": "repository", "name": "team/app", "actions": ["pull"]},
        {"type": "registry", "name": "catalog", "actions": []},
    ]
    assert granted_access(scopes, authenticated=True)[0]["actions"] == ["pull", "push"]


def test_a_scope_with_a_port_in_the_name_keeps_it():
    assert granted_access(["repository:host:5000/app:pull"], authenticated=True) == [
        {"type": "repository", "name": "host:5000/app", "actions": ["pull"]}
    ]
