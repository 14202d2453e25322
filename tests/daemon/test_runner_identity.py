"""The daemon's SSH identity: generated once, 0600, and its public half shown."""

import stat

import pytest

from conveyor.daemon.runner_identity import IdentityError, ensure_identity, public_key_of


def test_a_key_is_generated_once_and_kept(tmp_path):
    directory = tmp_path / "identity"
    private = ensure_identity(directory)
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    public = public_key_of(private)
    assert public.startswith("ssh-ed25519 ") and public.endswith(" conveyor")
    assert (directory / "id_ed25519.pub").read_text().strip() == public
    assert ensure_identity(directory) == private
    assert public_key_of(private) == public, "a restart keeps the same key"


def test_a_file_that_is_not_a_key_is_reported_without_its_content(tmp_path):
    bogus = tmp_path / "key"
    bogus.write_text("not a key at all: sekrit")
    with pytest.raises(IdentityError) as excinfo:
        public_key_of(bogus)
    assert str(bogus) in str(excinfo.value) and "sekrit" not in str(excinfo.value)
    with pytest.raises(IdentityError, match="cannot read"):
        public_key_of(tmp_path / "missing")
