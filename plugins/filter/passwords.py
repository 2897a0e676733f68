"""Password hashes that stay the same from run to run.

Prometheus and its exporters (exporter-toolkit web configuration) accept only
bcrypt hashes for basic auth. A fresh salt every run would rewrite the file
and restart the service on every converge, so the salt derives from a seed
(the user name and the secret): the same password gives the same hash, a new
password a new one. passlib is not needed (ansible's password_hash wants it
for bcrypt); the `bcrypt` package (requirements.txt) does the hashing.

Unit tests: tests/filters/test_passwords.py.
"""
import hashlib

import bcrypt

_BCRYPT_ALPHABET = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def _bcrypt_b64(data):
    """bcrypt's own base64 (its alphabet, no padding) of 16 bytes: 22 characters."""
    bits = int.from_bytes(data, "big") << 4  # 128 bits padded to 132 = 22 x 6
    return "".join(_BCRYPT_ALPHABET[(bits >> (6 * i)) & 63] for i in reversed(range(22)))


def stable_bcrypt(password, seed, cost=10):
    """bcrypt hash of `password` with a salt derived from `seed` and the password."""
    if not isinstance(password, str) or not password:
        raise ValueError("stable_bcrypt: the password must be a non-empty string")
    digest = hashlib.sha256(("%s\0%s" % (seed, password)).encode()).digest()[:16]
    salt = ("$2b$%02d$%s" % (int(cost), _bcrypt_b64(digest))).encode()
    return bcrypt.hashpw(password.encode(), salt).decode()


class FilterModule:
    def filters(self):
        return {"stable_bcrypt": stable_bcrypt}
