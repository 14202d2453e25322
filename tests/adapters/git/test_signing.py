"""Signed commits: sign with SSH or GPG keys, verify against allowed signers or a keyring.

Real ssh-keygen and gpg on temp directories; no services needed.
"""

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from conveyor.adapters.git import (
    CommitSettings,
    EditOutcome,
    GitMirror,
    GpgKeyring,
    GpgSigningKey,
    Identity,
    Remote,
    RepoWriter,
    SignatureStatus,
    SshAllowedSigners,
    SshSigningKey,
)

pytestmark = pytest.mark.anyio

SIGNER = Identity("Signing Bot", "signer@example.invalid")


def ssh_key(path: Path) -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path


def allowed_signers(path: Path, principal: str, key: Path) -> SshAllowedSigners:
    public = key.with_suffix(".pub").read_text().split()[:2]
    path.write_text(f'{principal} namespaces="git" {" ".join(public)}\n')
    return SshAllowedSigners(path)


def add_file(name: str):
    def edit(worktree):
        (worktree / name).write_text(f"{name}\n")
        return EditOutcome(True, f"Add {name}")

    return edit


@pytest.fixture
def mirror(bare_repo, state_dir) -> GitMirror:
    return GitMirror(Remote.parse(str(bare_repo)), branch="main", state_dir=state_dir)


async def test_ssh_signed_commit_is_trusted(mirror, tmp_path):
    key = ssh_key(tmp_path / "signing_key")
    trust = allowed_signers(tmp_path / "allowed_signers", SIGNER.email, key)
    writer = RepoWriter(mirror, commit=CommitSettings(author=SIGNER, signing=SshSigningKey(key)))
    result = await writer.write(add_file("signed.txt"))
    verdict = await mirror.verify_commit(result.revision, trust=trust)
    assert verdict.status is SignatureStatus.TRUSTED
    assert verdict.signer == SIGNER.email


async def test_an_unsigned_commit_is_unsigned(mirror, tmp_path):
    key = ssh_key(tmp_path / "signing_key")
    trust = allowed_signers(tmp_path / "allowed_signers", SIGNER.email, key)
    head = await mirror.fetch()
    verdict = await mirror.verify_commit(head, trust=trust)
    assert verdict.status is SignatureStatus.UNSIGNED
    assert verdict.signer is None


async def test_a_commit_signed_by_an_unknown_ssh_key_is_bad(mirror, tmp_path):
    trusted = ssh_key(tmp_path / "trusted_key")
    stranger = ssh_key(tmp_path / "stranger_key")
    trust = allowed_signers(tmp_path / "allowed_signers", SIGNER.email, trusted)
    writer = RepoWriter(
        mirror, commit=CommitSettings(author=SIGNER, signing=SshSigningKey(stranger))
    )
    result = await writer.write(add_file("stranger.txt"))
    verdict = await mirror.verify_commit(result.revision, trust=trust)
    assert verdict.status is SignatureStatus.BAD
    assert "not signed by an allowed signer" in verdict.detail


@pytest.fixture
def gnupg():
    """Two GnuPG homes: one holding a secret signing key, one trusting only its public key."""
    if shutil.which("gpg") is None:
        pytest.skip("gpg is not installed (Debian: apt-get install gnupg); GPG signing untested")
    # Short paths: gpg-agent's socket path must fit in a sockaddr_un.
    signer_home = Path(tempfile.mkdtemp(prefix="gitad-gpg-"))
    trusted_home = Path(tempfile.mkdtemp(prefix="gitad-gpg-"))
    stranger_home = Path(tempfile.mkdtemp(prefix="gitad-gpg-"))
    homes = (signer_home, trusted_home, stranger_home)

    def gpg(home: Path, *args: str, stdin: bytes | None = None) -> bytes:
        return subprocess.run(
            ["gpg", "--homedir", str(home), "--batch", "--quiet", *args],
            check=True,
            capture_output=True,
            input=stdin,
        ).stdout

    def make_key(home: Path, uid: str) -> str:
        gpg(
            home,
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
            "--quick-gen-key",
            uid,
            "ed25519",
            "sign",
            "never",
        )
        listing = gpg(home, "--with-colons", "--list-secret-keys").decode()
        return next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))

    try:
        fingerprint = make_key(signer_home, f"{SIGNER.name} <{SIGNER.email}>")
        stranger = make_key(stranger_home, "Stranger <stranger@example.invalid>")
        gpg(trusted_home, "--import", stdin=gpg(signer_home, "--export", fingerprint))
        yield {
            "signer": GpgSigningKey(fingerprint, home=signer_home),
            "stranger": GpgSigningKey(stranger, home=stranger_home),
            "trust": GpgKeyring(trusted_home),
            "fingerprint": fingerprint,
        }
    finally:
        for home in homes:
            subprocess.run(
                ["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"], capture_output=True
            )
            shutil.rmtree(home, ignore_errors=True)


async def test_gpg_signed_commit_is_trusted(mirror, gnupg):
    writer = RepoWriter(mirror, commit=CommitSettings(author=SIGNER, signing=gnupg["signer"]))
    result = await writer.write(add_file("gpg.txt"))
    verdict = await mirror.verify_commit(result.revision, trust=gnupg["trust"])
    assert verdict.status is SignatureStatus.TRUSTED
    assert verdict.signer == gnupg["fingerprint"]
    narrowed = GpgKeyring(gnupg["trust"].home, fingerprints=frozenset({"0" * 40}))
    assert (
        await mirror.verify_commit(result.revision, trust=narrowed)
    ).status is SignatureStatus.BAD


async def test_a_commit_signed_by_a_gpg_key_outside_the_keyring_is_bad(mirror, gnupg):
    writer = RepoWriter(mirror, commit=CommitSettings(author=SIGNER, signing=gnupg["stranger"]))
    result = await writer.write(add_file("stranger.txt"))
    verdict = await mirror.verify_commit(result.revision, trust=gnupg["trust"])
    assert verdict.status is SignatureStatus.BAD
    assert "not in the trusted keyring" in verdict.detail


async def test_a_gpg_signature_is_bad_when_only_ssh_signers_are_trusted(mirror, gnupg, tmp_path):
    key = ssh_key(tmp_path / "ssh_key")
    trust = allowed_signers(tmp_path / "allowed_signers", SIGNER.email, key)
    writer = RepoWriter(mirror, commit=CommitSettings(author=SIGNER, signing=gnupg["signer"]))
    result = await writer.write(add_file("gpg.txt"))
    verdict = await mirror.verify_commit(result.revision, trust=trust)
    assert verdict.status is SignatureStatus.BAD
    assert "only ssh signers are trusted" in verdict.detail
