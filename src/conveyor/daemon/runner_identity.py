"""The daemon's SSH identity: the key its git access uses, and the public half to show.

When no ``--ssh-key`` is configured for an SSH repo, the daemon generates an ed25519 key in
``STATE_DIR/identity`` on first start and keeps it across restarts; ``GET /api/v1/identity`` (and
``conveyor identity``) print the public key, for the user to add as a deploy key with write
access. A configured key is never written to; its public half is derived from it.

Errors: :class:`IdentityError` (a key file that cannot be read, parsed or written).
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

__all__ = ["KEY_NAME", "IdentityError", "ensure_identity", "public_key_of"]

KEY_NAME = "id_ed25519"
_COMMENT = "conveyor"


class IdentityError(Exception):
    """The SSH key cannot be read, parsed or created (the message names the file)."""


def ensure_identity(directory: Path) -> Path:
    """The private key in ``directory``, generated (with its ``.pub``) if it is not there yet."""
    private = directory / KEY_NAME
    if private.is_file():
        return private
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
        public = key.public_key().public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        )
        # Written beside and renamed in, so a crash never leaves half a key under the real name;
        # created 0600 from the start (ssh refuses keys others can read).
        partial = directory / f".{KEY_NAME}.partial"
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(pem)
        (directory / f"{KEY_NAME}.pub").write_bytes(public + f" {_COMMENT}\n".encode())
        partial.rename(private)
    except OSError as e:
        raise IdentityError(
            f"cannot create the SSH key in {directory}: {e.strerror}; check the state directory"
            " is writable"
        ) from e
    return private


def public_key_of(private_key: Path) -> str:
    """``ssh-ed25519 AAAA... conveyor``: the OpenSSH public key of an unencrypted private key."""
    try:
        data = private_key.read_bytes()
    except OSError as e:
        raise IdentityError(f"cannot read the SSH key {private_key}: {e.strerror}") from e
    try:
        key = serialization.load_ssh_private_key(data, password=None)
    except (ValueError, TypeError) as e:
        # The message of cryptography says what is wrong (encrypted, not a key); no key bytes.
        raise IdentityError(f"{private_key} is not an unencrypted OpenSSH private key: {e}") from e
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    return f"{public.decode('ascii')} {_COMMENT}"
