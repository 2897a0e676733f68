"""The lab's secrets on the controller stay private: `tools/lab secrets` (the
first step of `tools/lab up`, which checks the modes again at its end), run
twice under a permissive umask and over a .state a copy left world-readable,
leaves the SSH key, the vault password and the vault owner-only."""

import os
import stat
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def lab_secrets(state, vault, umask="0022"):
    return subprocess.run(
        ["bash", "-c", f"umask {umask}; exec tools/lab secrets"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
        env={**os.environ, "STATE_DIR": str(state), "LAB_VAULT_FILE": str(vault)},
    )


def modes(state, vault):
    lab = state / "lab"
    return {p.name: stat.S_IMODE(p.stat().st_mode)
            for p in (state, lab, lab / "id_ed25519", lab / "vault-pass", vault)}


def test_lab_secrets_are_private_after_two_runs(tmp_path):
    state, vault = tmp_path / "state", tmp_path / "inv" / "vault.yml"
    for _ in range(2):
        result = lab_secrets(state, vault)
        assert result.returncode == 0, result.stdout + result.stderr
        assert modes(state, vault) == {"state": 0o700, "lab": 0o700, "id_ed25519": 0o600,
                                       "vault-pass": 0o600, "vault.yml": 0o600}
    assert vault.read_text().startswith("$ANSIBLE_VAULT;"), "the lab vault is not encrypted"


def test_a_world_readable_state_is_made_private_again(tmp_path):
    state, vault = tmp_path / "state", tmp_path / "inv" / "vault.yml"
    assert lab_secrets(state, vault).returncode == 0
    key = (state / "lab" / "id_ed25519").read_bytes()
    for path in (state, state / "lab"):
        path.chmod(0o755)
    for path in (state / "lab" / "id_ed25519", state / "lab" / "vault-pass", vault):
        path.chmod(0o644)
    result = lab_secrets(state, vault)
    assert result.returncode == 0, result.stdout + result.stderr
    assert all(mode & 0o077 == 0 for mode in modes(state, vault).values()), modes(state, vault)
    # Kept, not regenerated: the lab host still knows this key.
    assert (state / "lab" / "id_ed25519").read_bytes() == key
