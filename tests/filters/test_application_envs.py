"""Unit tests of roles/application/filter_plugins/application_envs.py: which
environment a release links, from the checksums of its lock files."""

import importlib.util
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

_PATH = Path(__file__).resolve().parents[2] / "roles/application/filter_plugins/application_envs.py"
_spec = importlib.util.spec_from_file_location("application_envs", _PATH)
envs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(envs)

SALT = "/usr/bin/python3 trixie x86_64"


def stats(**checksums):
    return [{"item": name, "stat": {"exists": True, "checksum": value}} for name, value in checksums.items()]


def named(req="r1", pkg="p1", lock="l1", salt=SALT, node_dirs=("node-wallet",)):
    results = stats(**{"requirements.txt": req})
    for node_dir in node_dirs:
        results += stats(**{f"{node_dir}/package.json": pkg, f"{node_dir}/package-lock.json": lock})
    return {e["kind"] + e["dir"]: e for e in envs.application_envs(results, "/srv/app/envs", salt, "requirements.txt", list(node_dirs))}


def test_lock_files_lists_requirements_then_each_node_manifest():
    assert envs.lock_files("requirements.txt", ["a", "b/c"]) == [
        "requirements.txt", "a/package.json", "a/package-lock.json", "b/c/package.json", "b/c/package-lock.json"]


def test_links_and_paths():
    env = named()
    assert env["python"]["link"] == "venv" and env["python"]["src"] == env["python"]["path"]
    assert env["python"]["path"].startswith("/srv/app/envs/python-")
    node = env["nodenode-wallet"]
    assert node["link"] == "node-wallet/node_modules"
    assert node["path"].startswith("/srv/app/envs/node-node-wallet-")
    assert node["src"] == node["path"] + "/node_modules"


def test_same_locks_same_environments():
    assert named() == named()


def test_changed_requirements_changes_only_the_python_environment():
    before, after = named(), named(req="r2")
    assert before["python"]["path"] != after["python"]["path"]
    assert before["nodenode-wallet"] == after["nodenode-wallet"]


@pytest.mark.parametrize("change", [{"pkg": "p2"}, {"lock": "l2"}])
def test_changed_node_manifest_changes_only_node_modules(change):
    before, after = named(), named(**change)
    assert before["nodenode-wallet"]["path"] != after["nodenode-wallet"]["path"]
    assert before["python"] == after["python"]


def test_another_interpreter_or_release_gets_its_own_environments():
    other = named(salt="/usr/bin/python3 bookworm x86_64")
    assert all(other[k]["path"] != v["path"] for k, v in named().items())


def test_host_without_node_gets_only_python():
    assert list(named(node_dirs=())) == ["python"]


def test_missing_lock_file_fails_with_its_name():
    results = stats(**{"requirements.txt": "r1"}) + [{"item": "node-wallet/package-lock.json", "stat": {"exists": False}}]
    with pytest.raises(AnsibleFilterError, match="node-wallet/package-lock.json"):
        envs.application_envs(results, "/e", SALT, "requirements.txt", ["node-wallet"])
