"""Operator playbooks run against the Molecule hosts, as an operator would:
the repository's ansible.cfg, the scenario's inventory."""

import os
import subprocess

REPO = os.environ.get("MOLECULE_PROJECT_DIRECTORY", os.path.abspath(os.path.join(os.path.dirname(__file__), "../../..")))
INVENTORY = os.path.join(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", ""), "inventory")


def playbook(name, *extra, timeout=900):
    """Run playbooks/<name>; (return code, stdout + stderr)."""
    result = subprocess.run(
        ["ansible-playbook", "-i", INVENTORY, f"playbooks/{name}", *extra],
        cwd=REPO, capture_output=True, text=True, timeout=timeout,
        env={**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0"},
    )
    return result.returncode, result.stdout + result.stderr
