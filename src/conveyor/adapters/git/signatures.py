"""Commit signature verification: is a commit signed by a key we trust?

Trust is given either as an SSH allowed-signers file (``gpg.ssh.allowedSignersFile``) or as a GPG
home directory whose keyring holds exactly the trusted public keys (optionally narrowed to some
fingerprints). A commit is TRUSTED when ``git verify-commit`` accepts its signature against that
trust; UNSIGNED when it carries no signature; BAD otherwise (wrong key, tampered, expired, or a
signature kind the trust cannot check), with the reason in ``detail``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from conveyor.adapters.git.runner import GitSettings, run_git


@dataclass(frozen=True)
class SshAllowedSigners:
    """An ssh ``allowed_signers`` file: ``<principal> <key-type> <key>`` per line."""

    path: Path


@dataclass(frozen=True)
class GpgKeyring:
    """A GnuPG home directory whose public keys are the trusted signers."""

    home: Path
    fingerprints: frozenset[str] = frozenset()  # empty: any key in the keyring


SignatureTrust = SshAllowedSigners | GpgKeyring


class SignatureStatus(Enum):
    TRUSTED = "trusted"
    UNSIGNED = "unsigned"
    BAD = "bad"


@dataclass(frozen=True)
class SignatureVerdict:
    revision: str
    status: SignatureStatus
    signer: str | None  # the principal (SSH) or key fingerprint (GPG) when known
    detail: str


def signature_format(commit_object: bytes) -> str | None:
    """``"ssh"``, ``"openpgp"``, ``"x509"`` or None (unsigned), from a raw commit object."""
    headers = commit_object.split(b"\n\n", 1)[0]
    match = re.search(rb"^gpgsig(?:-sha256)? -----BEGIN ([A-Z0-9 ]+)-----", headers, re.M)
    if match is None:
        return None
    kind = match.group(1)
    if kind == b"SSH SIGNATURE":
        return "ssh"
    if kind in (b"PGP SIGNATURE", b"PGP MESSAGE"):
        return "openpgp"
    return "x509"


def read_gpg_status(status: str) -> tuple[bool, str | None, str]:
    """From ``--raw`` GnuPG status lines: (good, primary key fingerprint, reason if not good)."""
    words = {
        line.split()[1]: line.split()[2:]
        for line in status.splitlines()
        if line.startswith("[GNUPG:] ") and len(line.split()) > 1
    }
    for bad in ("BADSIG", "EXPSIG", "EXPKEYSIG", "REVKEYSIG", "ERRSIG", "NO_PUBKEY"):
        if bad in words:
            reason = {
                "BADSIG": "the signature does not match the commit (tampered?)",
                "EXPSIG": "the signature has expired",
                "EXPKEYSIG": "the signing key has expired",
                "REVKEYSIG": "the signing key was revoked",
            }.get(bad, "signed by a key that is not in the trusted keyring")
            return False, None, reason
    valid = words.get("VALIDSIG", [])
    if "GOODSIG" in words and valid:
        # The primary key's fingerprint (10th field) is what people list as trusted; a key
        # without subkeys signs with the primary key and may omit it.
        return True, valid[9] if len(valid) > 9 else valid[0], ""
    return False, None, "GnuPG did not report a good signature"


def _ssh_principal(stderr: str) -> str | None:
    match = re.search(r'Good "git" signature for (\S+) with', stderr)
    return match.group(1) if match else None


async def verify_commit(
    settings: GitSettings, repo: Path, revision: str, *, trust: SignatureTrust
) -> SignatureVerdict:
    """Check the signature of ``revision`` in the git directory ``repo`` against ``trust``."""
    raw = await run_git(
        settings,
        ["--git-dir", str(repo), "cat-file", "commit", revision],
        what=f"read commit {revision}",
    )
    found = signature_format(raw.stdout)
    if found is None:
        return SignatureVerdict(
            revision, SignatureStatus.UNSIGNED, None, "the commit is not signed"
        )
    wanted = "ssh" if isinstance(trust, SshAllowedSigners) else "openpgp"
    if found != wanted:
        return SignatureVerdict(
            revision,
            SignatureStatus.BAD,
            None,
            f"the commit has an {found} signature but only {wanted} signers are trusted",
        )
    args = ["--git-dir", str(repo), "verify-commit", "--raw", revision]
    if isinstance(trust, SshAllowedSigners):
        result = await run_git(
            settings,
            args,
            config=[("gpg.ssh.allowedSignersFile", str(trust.path))],
            check=False,
            what=f"verify the signature of {revision}",
        )
        if result.returncode == 0:
            principal = _ssh_principal(result.stderr)
            return SignatureVerdict(revision, SignatureStatus.TRUSTED, principal, "good signature")
        reason = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else ""
        return SignatureVerdict(
            revision,
            SignatureStatus.BAD,
            None,
            f"not signed by an allowed signer of {trust.path}: {reason}",
        )
    result = await run_git(
        settings,
        args,
        env={"GNUPGHOME": str(trust.home)},
        check=False,
        what=f"verify the signature of {revision}",
    )
    good, fingerprint, reason = read_gpg_status(result.stderr)
    if good and trust.fingerprints and fingerprint not in trust.fingerprints:
        good, reason = False, f"signed by key {fingerprint}, which is not a trusted fingerprint"
    if good and result.returncode == 0:
        return SignatureVerdict(revision, SignatureStatus.TRUSTED, fingerprint, "good signature")
    return SignatureVerdict(revision, SignatureStatus.BAD, fingerprint, reason)
