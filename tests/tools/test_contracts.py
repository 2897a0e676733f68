"""The roles' public contracts: a `__<role>_*` name is private to its role
(redhat-cop's rule). Playbooks, group_vars, inventories and the Molecule
playbooks read only what a role documents as input or output, and a role
never reads another role's private names."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# A Jinja/YAML identifier starting with two underscores (not a Python dunder).
PRIVATE = re.compile(r"(?<![A-Za-z0-9_])__([a-z][a-z0-9_]*[a-z0-9])(?![A-Za-z0-9_])")


def _private_names(path):
    found = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        for match in PRIVATE.finditer(line):
            found.append(f"{path.relative_to(ROOT)}:{number}: __{match.group(1)}")
    return found


def _yaml_files(*tops):
    for top in tops:
        base = ROOT / top
        paths = [base] if base.is_file() else sorted(base.rglob("*.yml"))
        # A vault holds only `vault_*` names; its ciphertext can hold anything.
        yield from (p for p in paths if p.name != "vault.yml")


def test_private_names_finds_one():
    """The scanner itself: a private name in a playbook line is reported."""
    assert PRIVATE.search("when: __application_switching | bool")
    assert not PRIVATE.search("path: roles/app/__pycache__/")


@pytest.mark.parametrize("top", ["site.yml", "playbooks", "group_vars", "inventory", "molecule"])
def test_no_private_role_names_outside_roles(top):
    found = [hit for path in _yaml_files(top) for hit in _private_names(path)]
    assert not found, "private role names read outside their role:\n" + "\n".join(found)


ROLES = sorted(p.name for p in (ROOT / "roles").iterdir() if p.is_dir())


def _others_private(hit, role):
    """Whether a hit is another role's private name (`__<other role>_`);
    other double-underscore names (Prometheus' `__param_target`) are not."""
    name = hit.rsplit(": ", 1)[1]
    return any(name.startswith(f"__{other}_") for other in ROLES if other != role)


def test_others_private_tells_roles_apart():
    assert _others_private("x:1: __redis_users", "application")
    assert not _others_private("x:1: __application_current", "application")
    assert not _others_private("x:1: __param_target", "prometheus")


@pytest.mark.parametrize("role", ROLES)
def test_a_role_reads_only_its_own_private_names(role):
    base = ROOT / "roles" / role
    found = [
        hit
        for path in sorted(base.rglob("*"))
        if path.suffix in {".yml", ".j2"} and path.is_file()
        for hit in _private_names(path)
        if _others_private(hit, role)
    ]
    assert not found, f"{role} reads another role's private names:\n" + "\n".join(found)
