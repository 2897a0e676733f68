"""Central logs on the all-in-one host (it is its own log host): what its
services log is stored per service and day, the operator's tools read it
back, and old files go. Shipping between hosts, refused strangers and an
outage of the log host are the cluster scenario's (test_logs.py there)."""

import datetime
import uuid

import pytest
from estate import APP, LOGS, curl, header, playbook, wait_for
from estate import stored_lines as stored


@pytest.fixture(scope="module")
def log_host(host):
    if "logs" not in host.ansible.get_variables().get("group_names", []):
        pytest.skip("not a log host")
    return host


@pytest.fixture(scope="module")
def name(log_host):
    return log_host.ansible.get_variables()["inventory_hostname"]


def today(host):
    return host.check_output("date +%F")


def test_a_unit_s_line_is_stored_under_its_service_within_10_s(log_host, name):
    marker = uuid.uuid4().hex
    unit = f"logs-probe-{marker[:8]}"
    log_host.check_output(f"systemd-run --unit {unit} -p Type=oneshot --wait /bin/echo {marker}")
    line = wait_for(lambda: stored(log_host, name, unit, marker), timeout=10, interval=0.5)
    assert line, f"{marker} not under {LOGS}/{name}/{unit}/ within 10 s"
    # time, host (the inventory's name), service[pid], priority, message
    fields = line.split()
    assert fields[1] == name and fields[2].startswith(unit + "[") and fields[3] == "info:", line


def test_a_request_s_id_is_in_nginx_s_stored_line(log_host, name):
    status, headers, _, _ = curl(log_host, "https://localhost/readyz")
    assert status == "200"
    request_id = header(headers, "X-Request-ID")
    assert len(request_id) == 1 and len(request_id[0]) == 32, headers
    line = wait_for(lambda: stored(log_host, name, "nginx", f"request_id={request_id[0]}"), timeout=10, interval=0.5)
    assert '"GET /readyz HTTP/' in line and " 200 " in line, line


def test_logs_playbook_shows_a_service_s_last_lines(log_host, name):
    marker = uuid.uuid4().hex
    log_host.check_output(f"systemd-run --unit logs-play-{marker[:8]} -p Type=oneshot --wait /bin/echo {marker}")
    assert wait_for(lambda: stored(log_host, name, f"logs-play-{marker[:8]}", marker), timeout=10, interval=0.5)
    rc, out = playbook("logs.yml", "-e", f"logs_service=logs-play-{marker[:8]}", "-e", "logs_lines=5")
    assert rc == 0, out
    assert marker in out, out
    rc, out = playbook("logs.yml", "-e", f"logs_grep={marker}")
    assert rc == 0 and marker in out, out
    rc, out = playbook("logs.yml", "-e", "logs_lines=many")
    assert rc != 0 and "logs_lines a number" in " ".join(out.split()), out


def test_retention_removes_files_past_the_configured_days(log_host):
    days = int(log_host.ansible.get_variables().get("logs_retention_days", 30))
    old = f"{LOGS}/retention-test/old-service/2000-01-01.log"
    kept = f"{LOGS}/retention-test/kept-service/2000-01-02.log"
    log_host.check_output(f"install -D -m 0640 /dev/null {old} && install -D -m 0640 /dev/null {kept}")
    # Forged dates: one a day past retention, one a day inside it.
    past = datetime.date.today() - datetime.timedelta(days=days + 1)
    inside = datetime.date.today() - datetime.timedelta(days=days - 1)
    log_host.check_output(f"touch -d {past.isoformat()} {old} && touch -d {inside.isoformat()} {kept}")
    log_host.check_output("systemctl start estate-logs-retention.service")
    try:
        assert not log_host.file(old).exists
        assert not log_host.file(f"{LOGS}/retention-test/old-service").exists  # empty directories go too
        assert log_host.file(kept).exists
        # Today's files are untouched.
        assert log_host.run(f"ls {LOGS}/*/nginx/{today(log_host)}.log").rc == 0
        assert log_host.service("estate-logs-retention.timer").is_enabled
    finally:
        log_host.run(f"rm -rf {LOGS}/retention-test")


def test_the_size_cap_removes_the_oldest_days_first(log_host):
    base = f"{LOGS}/cap-test/svc"
    cap = int(log_host.ansible.get_variables().get("logs_max_size_mb", 4096))
    # Three recent days (inside retention), each a third of the cap plus a
    # little: together over the cap, so the oldest must go.
    size = cap * 1024 * 1024 // 3 + 1024 * 1024
    days = [(datetime.date.today() - datetime.timedelta(days=n)).isoformat() for n in (3, 2, 1)]
    log_host.check_output(f"install -d {base}")
    for day in days:
        log_host.check_output(f"fallocate -l {size} {base}/{day}.log && touch -d {day} {base}/{day}.log")
    try:
        assert int(log_host.check_output(f"du -sb {LOGS} | cut -f1")) > cap * 1024 * 1024
        log_host.check_output("systemctl start estate-logs-retention.service")
        assert not log_host.file(f"{base}/{days[0]}.log").exists
        assert log_host.file(f"{base}/{days[2]}.log").exists
        assert int(log_host.check_output(f"du -sb {LOGS} | cut -f1")) <= cap * 1024 * 1024
    finally:
        log_host.run(f"rm -rf {LOGS}/cap-test")


def test_estate_logs_tool_refuses_paths_outside_its_directory(log_host):
    result = log_host.run("estate-logs -H ../../etc -s passwd")
    assert result.rc == 2 and "no slashes" in result.stderr


def test_application_lines_reach_the_log_host(log_host, name):
    """Gunicorn's own access line for a request made now."""
    marker = uuid.uuid4().hex
    curl(log_host, f"https://localhost/readyz?probe={marker}")
    assert wait_for(lambda: stored(log_host, name, f"{APP}-gunicorn", marker), timeout=10, interval=0.5)
