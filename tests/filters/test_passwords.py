"""stable_bcrypt: a valid bcrypt hash, the same for the same input, and new for a new password."""
import importlib.util
import pathlib

import bcrypt
import pytest

_PATH = pathlib.Path(__file__).resolve().parents[2] / "plugins" / "filter" / "passwords.py"
_SPEC = importlib.util.spec_from_file_location("passwords", _PATH)
passwords = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(passwords)


def test_hash_verifies_and_is_stable():
    first = passwords.stable_bcrypt("s3cret-password", "prometheus")
    assert first.startswith("$2b$10$")
    assert bcrypt.checkpw(b"s3cret-password", first.encode())
    assert passwords.stable_bcrypt("s3cret-password", "prometheus") == first


def test_new_password_or_seed_gives_a_new_hash():
    base = passwords.stable_bcrypt("s3cret-password", "prometheus")
    assert passwords.stable_bcrypt("other-password", "prometheus") != base
    assert passwords.stable_bcrypt("s3cret-password", "admin") != base
    assert not bcrypt.checkpw(b"other-password", base.encode())


@pytest.mark.parametrize("bad", ["", None, 42])
def test_refuses_an_empty_or_non_string_password(bad):
    with pytest.raises(ValueError):
        passwords.stable_bcrypt(bad, "prometheus")
