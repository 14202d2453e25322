"""Reading signature headers and GnuPG status lines: pure."""

from conveyor.adapters.git.signatures import read_gpg_status, signature_format

COMMIT = (
    b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n"
    b"author a <a@x> 1 +0000\ncommitter a <a@x> 1 +0000\n"
)


def test_unsigned_commit():
    assert signature_format(COMMIT + b"\nmessage\n") is None


def test_signature_kinds():
    ssh = (
        COMMIT + b"gpgsig -----BEGIN SSH SIGNATURE-----\n U1NI\n -----END SSH SIGNATURE-----\n\nm\n"
    )
    pgp = (
        COMMIT
        + b"gpgsig -----BEGIN PGP SIGNATURE-----\n \n iQ\n -----END PGP SIGNATURE-----\n\nm\n"
    )
    assert signature_format(ssh) == "ssh"
    assert signature_format(pgp) == "openpgp"


def test_signature_text_in_the_message_is_not_a_signature():
    assert signature_format(COMMIT + b"\ngpgsig -----BEGIN SSH SIGNATURE-----\n") is None


def test_good_gpg_status():
    status = (
        "[GNUPG:] NEWSIG\n[GNUPG:] GOODSIG 0123456789ABCDEF Test <t@x>\n"
        "[GNUPG:] VALIDSIG FPR0 2024-01-01 1 0 4 0 22 8 00 FPRPRIMARY\n"
        "[GNUPG:] TRUST_UNDEFINED 0 pgp\n"
    )
    assert read_gpg_status(status) == (True, "FPRPRIMARY", "")


def test_unknown_key_gpg_status():
    good, fingerprint, reason = read_gpg_status(
        "[GNUPG:] ERRSIG 0123 22 8 00 1 9 FPR\n[GNUPG:] NO_PUBKEY 0123\n"
    )
    assert not good
    assert fingerprint is None
    assert "not in the trusted keyring" in reason


def test_bad_gpg_status():
    assert read_gpg_status("[GNUPG:] BADSIG 0123 Test <t@x>\n")[2].startswith(
        "the signature does not match"
    )
