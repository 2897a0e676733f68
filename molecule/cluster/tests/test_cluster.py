"""The split estate seen from outside: the app hosts reach PostgreSQL and
Redis on the db host with the application's credentials while the web host
cannot, Nginx spreads requests over both app hosts, Celery beat runs on
exactly one host and its heartbeat advances, every host's firewall admits
exactly what the inventory calls for, no task in flight is lost when the
worker restarts, fail2ban never bans an estate host, and node-api on the
worker host answers through Nginx."""

import datetime
import os
import re
import uuid

import pytest
import yaml
from conftest import APP, REPO, edge, http, tcp_probe, ufw_rules, wait_for

DB_PORT, REDIS_PORT = 5432, 6379
VENV_PYTHON = f"/srv/{APP}/current/venv/bin/python"

pytestmark = pytest.mark.skipif(
    not os.environ.get("MOLECULE_INVENTORY_FILE"), reason="needs a Molecule run"
)


# --- 1. Cross-host wiring: app hosts reach the data tier, the web host cannot ------

def pg_login(host, target, user, password):
    """Log in to PostgreSQL on target with the app's own driver (psycopg);
    prints current_user or the error."""
    script = (
        "import sys, psycopg\n"
        "try:\n"
        "    with psycopg.connect(host=sys.argv[1], port=int(sys.argv[2]), dbname=sys.argv[3], user=sys.argv[4],\n"
        "                         password=sys.argv[5], connect_timeout=5, sslmode='prefer') as c:\n"
        "        print(c.execute('SELECT current_user').fetchone()[0])\n"
        "except Exception as e:\n"
        "    print('ERROR', type(e).__name__, e); sys.exit(1)\n"
    )
    return host.run("%s -c %s %s %s %s %s %s", VENV_PYTHON, script, target, str(DB_PORT), APP, user, password)


def redis_ping(host, target, user, password):
    """PING Redis on target as user with the app's own client (redis-py)."""
    script = (
        "import sys, redis\n"
        "try:\n"
        "    r = redis.Redis(host=sys.argv[1], port=int(sys.argv[2]), username=sys.argv[3] or None,\n"
        "                    password=sys.argv[4] or None, socket_connect_timeout=5, socket_timeout=5)\n"
        "    print(r.ping())\n"
        "except Exception as e:\n"
        "    print('ERROR', type(e).__name__, e); sys.exit(1)\n"
    )
    return host.run("%s -c %s %s %s %s %s", VENV_PYTHON, script, target, str(REDIS_PORT), user, password)


@pytest.mark.parametrize("name", ["cluster-app1", "cluster-app2"])
def test_app_host_logs_in_to_postgresql_on_the_db_host(hosts, addresses, secrets, name):
    result = pg_login(hosts[name], addresses["cluster-db1"], APP, secrets["vault_app_db_password"])
    assert result.rc == 0 and result.stdout.strip() == APP, result.stdout + result.stderr


@pytest.mark.parametrize("name", ["cluster-app1", "cluster-app2"])
def test_app_host_with_a_wrong_password_is_refused_by_postgresql(hosts, addresses, name):
    result = pg_login(hosts[name], addresses["cluster-db1"], APP, "not-the-password")
    assert result.rc != 0
    assert "password authentication failed" in result.stdout, result.stdout


@pytest.mark.parametrize("name", ["cluster-app1", "cluster-app2"])
def test_app_host_reaches_redis_on_the_db_host_as_its_acl_user(hosts, addresses, secrets, name):
    result = redis_ping(hosts[name], addresses["cluster-db1"], APP, secrets["vault_app_redis_password"])
    assert result.rc == 0 and result.stdout.strip() == "True", result.stdout + result.stderr


@pytest.mark.parametrize("name", ["cluster-app1", "cluster-app2"])
def test_redis_on_the_db_host_refuses_the_default_user(hosts, addresses, name):
    result = redis_ping(hosts[name], addresses["cluster-db1"], "", "")
    assert result.rc != 0
    assert "Authentication" in result.stdout or "NOAUTH" in result.stdout, result.stdout


@pytest.mark.parametrize("name", ["cluster-app1", "cluster-app2"])
def test_gunicorn_on_app_host_is_ready_with_database_and_redis(hosts, addresses, name):
    status, body = http(hosts[name], "GET", f"http://{addresses[name]}:8000/readyz",
                        headers=("X-Forwarded-Proto: https",))
    assert status == 200, body
    assert body["checks"] == {"database": "ok", "redis": "ok"}


@pytest.mark.parametrize("port", [DB_PORT, REDIS_PORT])
def test_web_host_is_dropped_by_the_db_hosts_firewall(web1, addresses, port):
    assert tcp_probe(web1, addresses["cluster-db1"], port) == "timeout"


@pytest.mark.parametrize("port", [DB_PORT, REDIS_PORT])
def test_app_host_gets_through_the_db_hosts_firewall(app1, addresses, port):
    # The same probe that times out from the web host connects from here.
    assert tcp_probe(app1, addresses["cluster-db1"], port) == "open"


# --- 2. Nginx on the web host balances over both app hosts ------------------------

def gunicorn_log_lines(host, marker):
    return host.run(f"journalctl -u {APP}-gunicorn --no-pager -o cat --since '-10min' | grep -c -F {marker}") \
        .stdout.strip() or "0"


def test_nginx_spreads_requests_over_both_app_hosts(web1, app1, app2):
    marker = f"lb-{uuid.uuid4().hex[:12]}"
    statuses = [edge(web1, "GET", f"/healthz?probe={marker}")[0] for _ in range(20)]
    assert statuses == [200] * 20, statuses

    def counts():
        c = (int(gunicorn_log_lines(app1, marker)), int(gunicorn_log_lines(app2, marker)))
        return c if sum(c) == 20 else None

    seen = wait_for(counts, timeout=20, interval=1)
    assert seen, "Gunicorn access logs do not show the 20 requests"
    assert min(seen) >= 3, f"app1/app2 served {seen}: not balanced"


# --- 3. Beat on exactly one host; its heartbeat advances ---------------------------

def test_beat_runs_on_the_scheduler_host_only(hosts, groups):
    assert groups["scheduler"] == ["cluster-worker1"]
    unit = f"{APP}-celery-beat.service"
    for name, host in hosts.items():
        if name in groups["scheduler"]:
            assert host.service(unit).is_running, name
            assert host.service(unit).is_enabled, name
        else:
            # No unit file at all: `systemctl cat` knows nothing of it.
            assert host.run(f"systemctl cat {unit}").rc != 0, f"{unit} exists on {name}"
            assert not host.file(f"/etc/systemd/system/{unit}").exists, name


def test_beat_heartbeat_advances(web1):
    def count():
        status, beats = edge(web1, "GET", "/api/heartbeat/")
        assert status == 200, beats
        return {b["name"]: b["count"] for b in beats}.get("celery-beat", 0)

    first = count()
    assert wait_for(lambda: count() > first, timeout=45, interval=3), "beat heartbeat did not advance"


# --- 4. Each firewall admits exactly what the inventory calls for -------------------

SSH = {("22/tcp", "LIMIT IN", "Anywhere"), ("22/tcp (v6)", "LIMIT IN", "Anywhere (v6)")}


def estate_services():
    """ufw_services from group_vars/all/firewall.yml, ports resolved from main.yml."""
    with open(os.path.join(REPO, "group_vars", "all", "main.yml"), encoding="utf-8") as handle:
        names = yaml.safe_load(handle)
    with open(os.path.join(REPO, "group_vars", "all", "firewall.yml"), encoding="utf-8") as handle:
        services = yaml.safe_load(handle)["ufw_services"]
    for service in services:
        service["port"] = int(re.sub(r"^\{\{\s*(\w+)\s*\}\}$", lambda m: str(names[m.group(1)]), str(service["port"])))
    return services


def expected_rules(name, groups, addresses):
    """What `ufw status` must list on host name: SSH from anywhere (rate
    limited), and each service it serves open to the world or to exactly the
    other hosts of the allowed groups."""
    rules = set(SSH)
    for service in estate_services():
        if not any(name in groups.get(g, []) for g in service["served_by"]):
            continue
        port = f"{service['port']}/{service.get('proto', 'tcp')}"
        if service.get("world"):
            rules |= {(port, "ALLOW IN", "Anywhere"), (f"{port} (v6)", "ALLOW IN", "Anywhere (v6)")}
        else:
            for group in service.get("from", []):
                rules |= {(port, "ALLOW IN", addresses[h]) for h in groups.get(group, []) if h != name}
    return rules


@pytest.mark.parametrize("name", ["cluster-web1", "cluster-app1", "cluster-app2", "cluster-worker1",
                                  "cluster-db1", "cluster-db2", "cluster-backup1", "cluster-mon1"])
def test_firewall_admits_exactly_what_the_inventory_calls_for(hosts, groups, addresses, name):
    assert hosts[name].run("ufw status").stdout.startswith("Status: active")
    assert ufw_rules(hosts[name]) == expected_rules(name, groups, addresses)


def sources(host, port):
    return {source for to, action, source in ufw_rules(host) if to == f"{port}/tcp"}


def test_db_host_admits_postgresql_from_its_clients_the_backup_host_and_the_standby_only(db1, db2, addresses):
    # The same, spelled out by host name for the reader.
    clients = ["cluster-app1", "cluster-app2", "cluster-worker1", "cluster-backup1"]
    assert sources(db1, DB_PORT) == {addresses[h] for h in clients + ["cluster-db2"]}
    assert sources(db1, REDIS_PORT) == {addresses[h] for h in clients[:3]}
    # The standby serves the same clients (once promoted) and its primary.
    assert sources(db2, DB_PORT) == {addresses[h] for h in clients + ["cluster-db1"]}


def test_app_hosts_admit_gunicorn_from_the_web_and_node_hosts_only(app1, app2, addresses):
    # Nginx on web1, and the Node services on worker1 (Django's service API).
    assert sources(app1, 8000) == sources(app2, 8000) == {addresses[h] for h in ["cluster-web1", "cluster-worker1"]}


def test_worker_host_admits_node_api_from_web_and_app_hosts(worker1, addresses):
    assert sources(worker1, 3001) == {addresses[h] for h in ["cluster-web1", "cluster-app1", "cluster-app2"]}


def test_web_host_admits_http_and_https_from_anywhere(web1):
    assert sources(web1, 80) == sources(web1, 443) == {"Anywhere"}


def test_gunicorn_on_an_app_host_is_dropped_for_the_db_host(db1, app1, addresses):
    assert tcp_probe(db1, addresses["cluster-app1"], 8000) == "timeout"


# --- 5. A worker restart loses no task in flight -------------------------------------

PROBES, PROBE_SLEEP = 6, 8


def parse_time(value):
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def test_worker_restart_loses_no_task_in_flight(web1, worker1, token):
    ids = []
    for _ in range(PROBES):
        status, probe = edge(web1, "POST", "/api/tasks/probe/", token, {"sleep": PROBE_SLEEP})
        assert status == 202, probe
        ids.append(probe["id"])

    def probes():
        out = []
        for pk in ids:
            status, body = edge(web1, "GET", f"/api/tasks/probe/{pk}/", token)
            assert status == 200, body
            out.append(body)
        return out

    running = wait_for(lambda: [p for p in probes() if p.get("started_at") and not p.get("completed_at")],
                       timeout=60, interval=1)
    assert running, "no probe started on the worker"
    unit = f"{APP}-celery-worker"
    pid_before = worker1.check_output(f"systemctl show -p MainPID --value {unit}")
    restarted_at = float(worker1.check_output("date +%s.%N"))
    # Warm shutdown: the running tasks finish first, then the worker comes back.
    worker1.check_output(f"systemctl restart {unit}")
    assert worker1.service(unit).is_running
    assert worker1.check_output(f"systemctl show -p MainPID --value {unit}") != pid_before

    final = wait_for(lambda: (lambda ps: ps if all(p.get("completed_at") for p in ps) else None)(probes()),
                     timeout=PROBES * PROBE_SLEEP + 120, interval=3)
    final = final or probes()
    done = [p for p in final if p.get("completed_at")]
    assert len(done) == PROBES, f"{len(done)}/{PROBES} probes completed: {final}"
    # The restart really happened while tasks ran: one started before it and
    # finished after it was asked for.
    assert any(parse_time(p["started_at"]) < restarted_at < parse_time(p["completed_at"]) for p in final), final


# --- 6. node-api on the worker host, through Nginx on the web host ------------------

def test_node_api_runs_on_the_node_host_only(hosts, groups):
    unit = f"{APP}-node-api.service"
    for name, host in hosts.items():
        assert host.service(unit).is_running == (name in groups["node"]), name


def test_node_api_answers_through_nginx_on_the_web_host(web1):
    assert not web1.socket("tcp://0.0.0.0:3001").is_listening
    status, body = edge(web1, "GET", "/node/healthz")
    assert status == 200, body
    assert body == {"status": "ok"}
    status, body = edge(web1, "GET", "/node/version")
    assert status == 200 and body.get("service") == "node-api", body


def test_node_api_on_the_worker_host_reaches_django_on_an_app_host(web1):
    # /strategies is node-api asking Django (Gunicorn on the first app host):
    # web1 -> worker1:3001 -> app1:8000 -> db1.
    status, body = edge(web1, "GET", "/node/strategies")
    assert status == 200, body
    assert isinstance(body.get("strategies"), list), body


def test_an_estate_host_is_never_banned_by_fail2ban(app1, db1, addresses):
    # More failed SSH logins from app1 than fail2ban allows (maxretry 3 in the
    # scenario), kept under UFW's own limit of 6 new connections in 30 s.
    source = addresses["cluster-app1"]
    for attempt in range(4):
        app1.run(f"ssh -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "
                 f"-o ConnectTimeout=5 nosuchuser{attempt}@{addresses['cluster-db1']} true")
    # fail2ban saw the failures and let them go: the address is one of the estate's.
    assert wait_for(lambda: f"Ignore {source}" in db1.run("cat /var/log/fail2ban.log").stdout, timeout=20, interval=2)
    assert source not in db1.run("fail2ban-client status sshd").stdout
    assert tcp_probe(app1, addresses["cluster-db1"], 22) == "open"
