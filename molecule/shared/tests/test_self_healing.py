"""Stock services come back by themselves after a crash: SIGKILL of the
main process of PostgreSQL, Redis, Nginx, node-exporter, Prometheus and rsyslog, then the service answers again
within 10 s, without Ansible (Debian ships PostgreSQL's and Nginx's units
with Restart=no; the roles add a restart drop-in). The application's own
units are covered by test_application.py."""

import time

import pytest
from estate import main_pid

DEADLINE = 10  # seconds from the kill to an answer

# unit (or a glob systemctl resolves), the command that proves it answers
PROBES = {
    "nginx.service": "curl -ksS -o /dev/null -w '%{http_code}' https://127.0.0.1/healthz -H 'Host: localhost' | grep -qx 200",
    "postgresql@*-main.service": "pg_isready -q -h 127.0.0.1 -p 5432",
    "redis-server.service": "timeout 2 bash -c 'exec 3<>/dev/tcp/127.0.0.1/6379; printf \"PING\\r\\n\" >&3; head -c 1 <&3' | grep -q .",
    # The monitoring: an exporter and Prometheus answer (401: no credentials).
    "prometheus-node-exporter.service": "curl -ksS -o /dev/null -w '%{http_code}' https://127.0.0.1:9100/metrics | grep -qx 401",
    "prometheus.service": "curl -ksS -o /dev/null -w '%{http_code}' https://127.0.0.1:9090/-/ready | grep -qx 401",
    # The central logs: a line logged now is stored again.
    "rsyslog.service": "m=heal-$RANDOM$RANDOM; logger -t heal-probe $m; sleep 1; grep -rqs $m /var/log/estate/*/heal-probe/",
}
GROUPS = {"nginx.service": "web", "postgresql@*-main.service": "db", "redis-server.service": "redis",
          "prometheus-node-exporter.service": "monitoring", "prometheus.service": "monitoring",
          "rsyslog.service": "logs"}


@pytest.mark.parametrize("pattern", sorted(PROBES))
def test_stock_service_answers_within_10_s_of_sigkill(host, pattern):
    if GROUPS[pattern] not in host.ansible.get_variables().get("group_names", []):
        pytest.skip(f"not a {GROUPS[pattern]} host")
    unit = host.run(f"systemctl list-units --plain --no-legend --type=service '{pattern}'").stdout.split()[0]
    probe = PROBES[pattern]
    assert host.run(probe).rc == 0, f"{unit} does not answer before the test"
    before = main_pid(host, unit)
    assert before > 0
    host.run(f"kill -9 {before}")
    killed = time.monotonic()
    answered = None
    while time.monotonic() - killed < DEADLINE:
        pid = main_pid(host, unit)
        if pid not in (0, before) and host.run(probe).rc == 0:
            answered = time.monotonic() - killed
            break
        time.sleep(0.25)
    assert answered is not None, f"{unit} did not answer within {DEADLINE} s of SIGKILL of {before}"


@pytest.mark.parametrize("pattern", sorted(PROBES))
def test_crash_loop_never_locks_the_service_out(host, pattern):
    """No start-rate limit (a crash loop would otherwise leave the unit dead
    for good), and a pause between attempts instead."""
    if GROUPS[pattern] not in host.ansible.get_variables().get("group_names", []):
        pytest.skip(f"not a {GROUPS[pattern]} host")
    unit = host.run(f"systemctl list-units --plain --no-legend --type=service '{pattern}'").stdout.split()[0]
    props = dict(line.split("=", 1) for line in host.run(
        f"systemctl show -p StartLimitIntervalUSec,RestartUSec,Restart {unit}").stdout.split())
    assert props["StartLimitIntervalUSec"] == "0", props
    assert props["RestartUSec"] == "2s", props
    assert props["Restart"] in ("on-failure", "always"), props
