"""The scenarios' test library: operator playbooks run as an operator would
(the repository's ansible.cfg, the scenario's inventory), requests made
inside a host, the vault's secrets, and small waits."""

import os
import shlex
import subprocess
import time

import yaml

REPO = os.environ.get("MOLECULE_PROJECT_DIRECTORY", os.path.abspath(os.path.join(os.path.dirname(__file__), "../../..")))
INVENTORY = os.path.join(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", ""), "inventory")
VAULT = os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", "group_vars", "molecule", "vault.yml")


def _app_name():
    """app_name as the inventory sets it (the estate's group_vars/all), so the
    tests follow a renamed application instead of a constant."""
    with open(os.path.join(REPO, "group_vars", "all", "main.yml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)["app_name"]


# The application's name: its units, paths, database, users and site.
APP = _app_name()


def playbook(name, *extra, timeout=900):
    """Run playbooks/<name>; (return code, stdout + stderr)."""
    result = subprocess.run(
        ["ansible-playbook", "-i", INVENTORY, f"playbooks/{name}", *extra],
        cwd=REPO, capture_output=True, text=True, timeout=timeout,
        env={**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0"},
    )
    return result.returncode, result.stdout + result.stderr


def secrets():
    """The scenarios' vault (tools/gen-secrets writes it unencrypted)."""
    with open(VAULT, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def wait_for(predicate, timeout=60, interval=2):
    """The first truthy value of predicate() within timeout, else the last one."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    return last


def main_pid(host, unit):
    return int(host.run(f"systemctl show -p MainPID --value {unit}").stdout.strip() or 0)


def api_token(host, app, label):
    """A new API token, made by the application's own management command."""
    result = host.run(f"/usr/local/bin/{app}-manage create_api_token {shlex.quote(label)} </dev/null")
    assert result.rc == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def curl(host, url, *args, name="localhost", cacert=None, timeout=60, check=True):
    """curl inside the host, with name resolving to 127.0.0.1; TLS checked
    against cacert (or not at all). (http_code, headers, body, curl's exit status)."""
    trust = f"--cacert {shlex.quote(cacert)}" if cacert else "-k"
    result = host.run(
        f"curl -sS -o /tmp/test-body -D /tmp/test-headers -w '%{{http_code}}' --max-time {timeout} {trust} "
        f"--resolve {name}:443:127.0.0.1 --resolve {name}:80:127.0.0.1 "
        + " ".join(shlex.quote(a) for a in (*args, url))
    )
    if check:
        assert result.rc == 0, result.stderr
    headers = host.run("cat /tmp/test-headers 2>/dev/null").stdout
    body = host.run("cat /tmp/test-body 2>/dev/null").stdout
    return result.stdout.strip(), headers, body, result.rc


def header(headers, name):
    """Every value of header name in a curl -D dump."""
    return [
        line.split(":", 1)[1].strip()
        for line in headers.splitlines()
        if line.lower().startswith(name.lower() + ":")
    ]


# The verify run's stages: a test module marked `state_changing` (it deploys,
# rolls back or replaces what the other tests look at) runs after every other
# test of the scenario, in file order. A scenario's conftest.py imports these
# two hooks.
def pytest_configure(config):
    config.addinivalue_line("markers", "state_changing: changes what other tests observe; runs after them")


def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: item.get_closest_marker("state_changing") is not None)
