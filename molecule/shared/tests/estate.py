"""The scenarios' test library: operator playbooks run as an operator would
(the repository's ansible.cfg, the scenario's inventory), requests made
inside a host, the vault's secrets, and small waits."""

import json
import os
import shlex
import subprocess
import time
import urllib.parse

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


# --- Central logs: what the log host stored -------------------------------------

LOGS = "/var/log/estate"


def stored_lines(log_host, sender, service, text):
    """The lines of today's file of sender's service on the log host that
    contain text (empty when none, or no such file)."""
    day = log_host.check_output("date +%F")
    return log_host.run(f"grep -hF -- {shlex.quote(text)} {LOGS}/{sender}/{service}/{day}.log").stdout


# --- Monitoring: Prometheus' API on a monitoring host, and a webhook receiver -----

PROMETHEUS = "https://127.0.0.1:9090"
HOOK_LOG = "/tmp/alert-hook.jsonl"
# The receiver the scenarios' Alertmanager posts to (molecule group_vars:
# http://127.0.0.1:9099/alerts): one JSON payload a line.
HOOK_SERVER = (
    "import http.server\n"
    "class H(http.server.BaseHTTPRequestHandler):\n"
    "    def do_POST(self):\n"
    "        body = self.rfile.read(int(self.headers['Content-Length']))\n"
    "        with open('%s', 'ab') as f:\n"
    "            f.write(body.replace(b'\\n', b' ') + b'\\n')\n"
    "        self.send_response(200); self.end_headers()\n"
    "http.server.HTTPServer(('127.0.0.1', 9099), H).serve_forever()\n" % HOOK_LOG
)


def prometheus_api(host, path, user="admin", password=None, check=True):
    """GET path of Prometheus' API inside host (TLS, basic auth): its `data`."""
    password = password or secrets()["vault_monitoring_admin_password"]
    result = host.run("curl -sk --max-time 10 -u %s %s", f"{user}:{password}", PROMETHEUS + path)
    if check:
        assert result.rc == 0, result.stderr
    try:
        return json.loads(result.stdout)["data"]
    except (ValueError, KeyError):
        return None


def prometheus_query(host, expr):
    """[(labels, value)] of an instant query."""
    data = prometheus_api(host, "/api/v1/query?query=" + urllib.parse.quote(expr)) or {"result": []}
    return [(r["metric"], float(r["value"][1])) for r in data["result"]]


def targets_not_up(host, jobs):
    """The active targets that are not up, and the expected jobs without any
    target; both empty once Prometheus scrapes everything."""
    targets = (prometheus_api(host, "/api/v1/targets") or {}).get("activeTargets", [])
    down = [(t["labels"]["job"], t["labels"]["instance"], t["health"], t["lastError"]) for t in targets
            if t["health"] != "up"]
    missing = set(jobs) - {t["labels"]["job"] for t in targets}
    return down, missing


def start_recorder(host, unit, code, log):
    """Run a test's receiver (Python code) on host as the transient unit
    `unit`, its log `log` emptied first."""
    host.run(f"systemctl stop {unit} 2>/dev/null; rm -f {log}")
    result = host.run(f"systemd-run --unit={unit} python3 -c %s", code)
    assert result.rc == 0, result.stderr


def start_alert_hook(host):
    """Start the webhook receiver on host as a transient unit, empty log."""
    start_recorder(host, "test-alert-hook", HOOK_SERVER, HOOK_LOG)


def stop_alert_hook(host):
    host.run("systemctl stop test-alert-hook")


def alert_notifications(host):
    """[(status, labels)] of every alert in every payload received so far."""
    out = host.run(f"cat {HOOK_LOG} 2>/dev/null").stdout
    return [(alert["status"], alert["labels"]) for line in out.splitlines() if line.strip()
            for alert in json.loads(line)["alerts"]]


# The verify run's stages: a test module marked `state_changing` (it deploys,
# rolls back or replaces what the other tests look at) runs after every other
# test of the scenario, in file order. A scenario's conftest.py imports these
# two hooks.
def pytest_configure(config):
    config.addinivalue_line("markers", "state_changing: changes what other tests observe; runs after them")


def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: item.get_closest_marker("state_changing") is not None)
