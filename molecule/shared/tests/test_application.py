"""The application tier, observed from outside its processes: HTTP answers,
queued work gets done, crashed services come back, units stay hardened."""

import json
import re
import time

import pytest
from estate import APP, api_token, main_pid, wait_for

GUNICORN = "http://127.0.0.1:8000"
NODE_API = "http://127.0.0.1:3001"
PYTHON_UNITS = [f"{APP}-gunicorn", f"{APP}-celery-worker", f"{APP}-celery-beat", f"{APP}-flower"]
NODE_UNITS = [f"{APP}-node-api", f"{APP}-node-payout-worker", f"{APP}-node-deposit-monitor"]
UNITS = PYTHON_UNITS + NODE_UNITS


def http(host, method, url, token=None, data=None):
    """curl inside the host; returns (status, parsed JSON or text)."""
    cmd = ["curl", "-s", "-o", "/dev/stdout", "-w", r"\n%{http_code}", "-X", method,
           # Nginx terminates TLS in production; straight to Gunicorn we say so.
           "-H", "X-Forwarded-Proto: https", "-H", "Accept: application/json"]
    if token:
        cmd += ["-H", f"Authorization: Token {token}"]
    if data is not None:
        cmd += ["-H", "Content-Type: application/json", "--data", json.dumps(data)]
    cmd.append(url)
    out = host.run(" ".join(f"'{c}'" for c in cmd)).stdout
    body, _, status = out.rpartition("\n")
    try:
        return int(status), json.loads(body)
    except ValueError:
        return int(status or 0), body


@pytest.fixture(scope="module")
def token(host):
    return api_token(host, APP, "molecule-smoke")


@pytest.mark.parametrize("unit", UNITS)
def test_unit_is_enabled_and_running(host, unit):
    service = host.service(unit)
    assert service.is_enabled
    assert service.is_running


def test_gunicorn_socket_is_enabled_and_listening(host):
    assert host.service(f"{APP}-gunicorn.socket").is_enabled
    assert host.socket("tcp://127.0.0.1:8000").is_listening


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probes_answer_through_gunicorn(host, path):
    status, body = http(host, "GET", GUNICORN + path)
    assert status == 200, body
    assert body["status"] == "ok"


def test_version_names_the_current_release(host):
    current = host.file(f"/srv/{APP}/current").linked_to
    status, body = http(host, "GET", GUNICORN + "/version")
    assert status == 200
    assert current.endswith("/" + body["release"])


def test_task_sent_through_the_api_is_executed_by_the_worker(host, token):
    status, probe = http(host, "POST", GUNICORN + "/api/tasks/probe/", token, {"sleep": 0})
    assert status == 202, probe
    done = wait_for(lambda: http(host, "GET", f"{GUNICORN}/api/tasks/probe/{probe['id']}/", token)[1]
                    .get("status") == "completed", timeout=60)
    assert done, "the Celery worker never completed the probe task"


def test_beat_heartbeat_advances(host):
    def count():
        status, beats = http(host, "GET", GUNICORN + "/api/heartbeat/")
        assert status == 200, beats
        return {b["name"]: b["count"] for b in beats}.get("celery-beat", 0)

    first = count()
    assert wait_for(lambda: count() > first, timeout=45), "beat heartbeat did not advance"


def test_node_api_answers(host):
    status, body = http(host, "GET", NODE_API + "/healthz")
    assert status == 200, body
    status, strategies = http(host, "GET", NODE_API + "/strategies")
    assert status == 200, strategies


def test_payout_is_processed_by_the_node_payout_worker(host, token):
    status, payout = http(host, "POST", GUNICORN + "/api/payouts/", token,
                          {"amount": "12.50", "currency": "EUR", "destination": "IBAN-MOLECULE-1"})
    assert status == 202, payout
    final = wait_for(lambda: http(host, "GET", f"{GUNICORN}/api/payouts/{payout['id']}/", token)[1]
                     .get("status") in ("paid", "failed") and
                     http(host, "GET", f"{GUNICORN}/api/payouts/{payout['id']}/", token)[1], timeout=60)
    assert final and final["status"] == "paid", final


def test_deposit_from_the_monitor_appears_in_django(host, token):
    def deposits():
        status, body = http(host, "GET", GUNICORN + "/api/deposits/", token)
        assert status == 200, body
        return body.get("count", 0) if isinstance(body, dict) else len(body)

    assert wait_for(lambda: deposits() > 0, timeout=60), "no deposit reached Django"


@pytest.mark.parametrize("unit", UNITS)
def test_killed_service_is_restarted_and_serves_again(host, unit):
    before = main_pid(host, unit)
    assert before > 0
    # Back and serving within 10 s of the kill (RestartSec=2s), without Ansible.
    probe = {f"{APP}-gunicorn": GUNICORN + "/readyz", f"{APP}-node-api": NODE_API + "/healthz"}.get(unit)
    host.run(f"kill -9 {before}")

    def back():
        pid = main_pid(host, unit)
        if pid in (0, before) or not host.service(unit).is_running:
            return False
        return probe is None or http(host, "GET", probe)[0] == 200

    assert wait_for(back, timeout=10, interval=0.5), f"{unit} did not serve again within 10 s of SIGKILL"


WATCHDOG = 15  # application_watchdog_sec


def unit_property(host, unit, name):
    return host.run(f"systemctl show -p {name} --value {unit}").stdout.strip()


def test_every_service_keeps_its_watchdog_fed(host):
    """Each unit has a watchdog, and its keep-alives arrive (systemd's
    timestamp of the last one moves on) while it runs normally."""
    before = {unit: unit_property(host, unit, "WatchdogTimestampMonotonic") for unit in UNITS}
    assert {unit: unit_property(host, unit, "WatchdogUSec") for unit in UNITS} == {unit: f"{WATCHDOG}s" for unit in UNITS}
    time.sleep(WATCHDOG / 3 + 1.5)
    stale = [unit for unit in UNITS if unit_property(host, unit, "WatchdogTimestampMonotonic") in ("", "0", before[unit])]
    assert stale == [], f"no keep-alive reached systemd from {stale}"


def test_hung_services_are_restarted_by_their_watchdogs(host):
    """SIGSTOP freezes each main process (it still exists: Restart= alone
    would never notice); the watchdog aborts it and the unit starts again."""
    since = host.run("date +%s").stdout.strip()
    stopped = {unit: main_pid(host, unit) for unit in UNITS}
    assert all(stopped.values())
    for pid in stopped.values():
        host.run(f"kill -STOP {pid}")
    try:
        def all_back():
            return all(main_pid(host, unit) not in (0, pid) and host.service(unit).is_running
                       for unit, pid in stopped.items())
        wait_for(all_back, timeout=WATCHDOG + 20, interval=1)
    finally:
        for pid in stopped.values():
            host.run(f"kill -CONT {pid}")
    still = [unit for unit, pid in stopped.items() if main_pid(host, unit) in (0, pid)]
    assert still == [], f"not restarted within {WATCHDOG + 20} s of hanging: {still}"
    by_watchdog = [unit for unit in UNITS
                   if "Watchdog timeout" in host.run(f"journalctl -u {unit} --since @{since} -o cat").stdout]
    assert sorted(by_watchdog) == sorted(UNITS)
    assert wait_for(lambda: http(host, "GET", GUNICORN + "/readyz")[0] == 200, timeout=20, interval=1)
    assert wait_for(lambda: http(host, "GET", NODE_API + "/healthz")[0] == 200, timeout=20, interval=1)


CONTAINER_NOTE = "# Containers: PrivateUsers= together with ProtectProc=invisible"


def host_variant(host, unit):
    """The unit as a real host gets it. In a container the role leaves out
    ProtectProc=invisible (with PrivateUsers=yes it fails there, 217/USER) and
    says so in a comment; nothing else differs."""
    text = host.file(f"/etc/systemd/system/{unit}.service").content_string
    if CONTAINER_NOTE in text:
        text = text.replace(CONTAINER_NOTE, "ProtectProc=invisible\n" + CONTAINER_NOTE, 1)
    path = f"/run/{unit}.host.service"
    host.run(f"cat > {path} <<'UNIT'\n{text}\nUNIT")
    return path


def exposure(host, unit_or_path, offline=False):
    flag = "--offline=true " if offline else ""
    out = host.run(f"systemd-analyze security {flag}--no-pager {unit_or_path}").stdout
    match = re.search(r"Overall exposure level for \S+: ([0-9.]+)", out)
    assert match, out
    return float(match.group(1))


# The hand-over twin (never enabled) is scored like the unit it stands in for.
@pytest.mark.parametrize("unit", PYTHON_UNITS + [f"{APP}-gunicorn-next"])
def test_python_unit_exposure_is_at_most_1_0(host, unit):
    assert exposure(host, host_variant(host, unit), offline=True) <= 1.0


@pytest.mark.parametrize("unit", NODE_UNITS)
def test_node_unit_exposure_is_at_most_1_5(host, unit):
    assert exposure(host, host_variant(host, unit), offline=True) <= 1.5


@pytest.mark.parametrize("unit", UNITS)
def test_running_unit_is_relaxed_only_by_protectproc(host, unit):
    # The live unit scores what the host variant does, plus ProtectProc's 0.2.
    live = exposure(host, f"{unit}.service")
    assert live <= exposure(host, host_variant(host, unit), offline=True) + 0.2 + 1e-9


PINNED = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "PrivateUsers": "yes",
    "PrivateMounts": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectControlGroups": "yes",
    "RestrictNamespaces": "yes",
    "RestrictSUIDSGID": "yes",
    "LockPersonality": "yes",
    "CapabilityBoundingSet": "",
    "Restart": "on-failure",
}


@pytest.mark.parametrize("unit", UNITS)
def test_unit_keeps_the_hardening_it_relies_on(host, unit):
    props = dict(
        line.split("=", 1)
        for line in host.run(f"systemctl show {unit} -p {','.join(PINNED)} -p MemoryDenyWriteExecute "
                             "-p MemoryMax -p TasksMax -p SystemCallFilter").stdout.splitlines()
        if "=" in line
    )
    for key, want in PINNED.items():
        assert props.get(key) == want, f"{unit}: {key}={props.get(key)!r}, want {want!r}"
    families = set(host.run(f"systemctl show -p RestrictAddressFamilies --value {unit}").stdout.split())
    assert families == {"AF_UNIX", "AF_INET", "AF_INET6"}, families
    # Node's JIT needs writable+executable memory; Python must not get it.
    assert props["MemoryDenyWriteExecute"] == ("no" if unit in NODE_UNITS else "yes")
    assert props["MemoryMax"] != "infinity"
    assert props["TasksMax"] != "infinity"
    assert props["SystemCallFilter"], "no system call filter"


@pytest.mark.parametrize("unit", [f"{APP}-gunicorn", f"{APP}-celery-worker", f"{APP}-node-api"])
def test_extra_environment_reaches_the_running_services(host, unit):
    # app_extra_env (molecule's vars.yml): what tools/import-env keeps of a
    # compose .env that the estate has no variable for.
    environ = host.check_output(f"tr '\\0' '\\n' < /proc/{main_pid(host, unit)}/environ")
    assert "FRONTEND_URL=https://app.example.test" in environ.splitlines()


def test_environment_file_is_root_owned_and_private(host):
    env = host.file(f"/etc/{APP}/django.env")
    assert env.user == "root"
    assert env.group == APP
    assert env.mode == 0o640
    # Node services can't read Django's secrets: they're not in its group.
    assert host.run(f"runuser -u {APP}-node-api -- cat /etc/{APP}/django.env").rc != 0
