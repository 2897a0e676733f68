"""Shared helpers of the cluster scenario's tests: one fixture per host, the
inventory's groups and each host's estate address, HTTP through Nginx on the
web host, and an API token. Everything is read from the running estate and
the inventory Molecule generated, never hard-coded addresses."""

import json
import os
import re
import shlex
import subprocess
import sys

import pytest
import testinfra

REPO = os.environ.get(
    "MOLECULE_PROJECT_DIRECTORY", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
)
sys.path.insert(0, os.path.join(REPO, "molecule", "shared", "tests"))
import estate  # noqa: E402  (the scenarios' test library)

# The stages (pytest hooks), and wait_for, which the cluster's tests import from here.
from estate import APP, pytest_collection_modifyitems, pytest_configure, wait_for  # noqa: E402,F401

# Nginx on the web host, as a browser reaches it (self-signed certificate).
EDGE = "https://127.0.0.1"
EDGE_HOST_HEADER = "localhost"

def get_host(name):
    return testinfra.get_host(f"ansible://{name}?ansible_inventory={os.environ['MOLECULE_INVENTORY_FILE']}")


# --- The inventory -----------------------------------------------------------------

@pytest.fixture(scope="session")
def groups():
    """{group: [inventory host names]} of the estate, as Ansible sees it."""
    inventory = os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"])
    out = subprocess.run(["ansible-inventory", "-i", inventory, "--list"], check=True,
                         capture_output=True, text=True, cwd=REPO).stdout
    data = json.loads(out)
    result = {}

    def walk(name):
        node = data.get(name, {})
        hosts = list(node.get("hosts", []))
        for child in node.get("children", []):
            hosts += walk(child)
        result[name] = sorted(set(hosts))
        return hosts

    walk("all")
    return result


@pytest.fixture(scope="session")
def hosts(groups):
    """{inventory host name: testinfra host} for every host of the estate."""
    return {name: get_host(name) for name in groups["all"]}


def address(host):
    """The host's estate_address: its default route's source address."""
    return host.check_output("ip -4 route get 1.1.1.1 | grep -o 'src [0-9.]*' | cut -d' ' -f2")


@pytest.fixture(scope="session")
def addresses(hosts):
    """{inventory host name: estate address}."""
    return {name: address(h) for name, h in hosts.items()}


@pytest.fixture(scope="session")
def secrets():
    return estate.secrets()


# One fixture per host of the estate.
@pytest.fixture(scope="session")
def web1():
    return get_host("cluster-web1")


@pytest.fixture(scope="session")
def app1():
    return get_host("cluster-app1")


@pytest.fixture(scope="session")
def app2():
    return get_host("cluster-app2")


@pytest.fixture(scope="session")
def worker1():
    return get_host("cluster-worker1")


@pytest.fixture(scope="session")
def db1():
    return get_host("cluster-db1")


@pytest.fixture(scope="session")
def backup1():
    return get_host("cluster-backup1")


@pytest.fixture(scope="session")
def mon1():
    return get_host("cluster-mon1")


# --- Network probes ------------------------------------------------------------------

def tcp_probe(host, target, port, timeout=3):
    """'open', 'refused' or 'timeout' (dropped) for a TCP connect from host."""
    result = host.run(f"timeout {timeout} bash -c '</dev/tcp/{target}/{port}'")
    if result.rc == 0:
        return "open"
    if result.rc == 124:
        return "timeout"
    return "refused" if "refused" in result.stderr else f"error rc={result.rc}: {result.stderr.strip()}"


def http(host, method, url, token=None, data=None, headers=()):
    """curl inside host; returns (status, parsed JSON or text)."""
    cmd = ["curl", "-sk", "--max-time", "20", "-o", "/dev/stdout", "-w", r"\n%{http_code}", "-X", method,
           "-H", "Accept: application/json", *[a for h in headers for a in ("-H", h)]]
    if token:
        cmd += ["-H", f"Authorization: Token {token}"]
    if data is not None:
        cmd += ["-H", "Content-Type: application/json", "--data", json.dumps(data)]
    cmd.append(url)
    out = host.run(" ".join(shlex.quote(c) for c in cmd)).stdout
    body, _, status = out.rpartition("\n")
    try:
        return int(status), json.loads(body)
    except ValueError:
        return int(status or 0), body


def edge(web, method, path, token=None, data=None):
    """A request to Nginx on the web host, as a client of the site makes it."""
    return http(web, method, EDGE + path, token, data, headers=(f"Host: {EDGE_HOST_HEADER}",))


@pytest.fixture(scope="session")
def token(app1):
    return estate.api_token(app1, APP, "molecule-cluster")


# --- UFW ---------------------------------------------------------------------------

def ufw_rules(host):
    """{(to, action, from)} from `ufw status verbose`, comments dropped."""
    rules = set()
    for line in host.check_output("ufw status verbose").splitlines():
        match = re.match(r"^(\S+(?: \(v6\))?)\s+(ALLOW IN|LIMIT IN|DENY IN|REJECT IN)\s+(.+?)\s*(?:#.*)?$", line)
        if match:
            rules.add((match.group(1), match.group(2), match.group(3)))
    return rules


@pytest.fixture(scope="session")
def db2():
    return get_host("cluster-db2")
