"""The split estate seen from its hosts: the app host reaches PostgreSQL and
Redis on the db host, the outsider (in no allowed group) is refused by the
firewall and by pg_hba, each host's UFW rules are the ones its inventory
groups call for, and SSH survives enabling the firewall."""

import os
import re
import subprocess
import sys
import time

import pytest
import testinfra

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "shared", "tests"))
import estate  # noqa: E402  (the scenarios' test library)
from estate import APP  # noqa: E402

DB_PORT, REDIS_PORT = 5432, 6379


def _host(name):
    return testinfra.get_host(f"ansible://{name}?ansible_inventory={os.environ['MOLECULE_INVENTORY_FILE']}")


@pytest.fixture(scope="module")
def db():
    return _host("data-db")


@pytest.fixture(scope="module")
def app():
    return _host("data-app")


@pytest.fixture(scope="module")
def outsider():
    return _host("data-outsider")


@pytest.fixture(scope="module")
def secrets():
    return estate.secrets()


def address(host):
    """The host's estate_address: its default route's source address."""
    return host.check_output("ip -4 route get 1.1.1.1 | grep -o 'src [0-9.]*' | cut -d' ' -f2")


def tcp_probe(host, target, port, timeout=3):
    """'open', 'refused' or 'timeout' for a TCP connection from host."""
    script = (
        "import socket,sys\n"
        "s=socket.socket(); s.settimeout(%d)\n"
        "try:\n s.connect((sys.argv[1], int(sys.argv[2]))); print('open')\n"
        "except ConnectionRefusedError: print('refused')\n"
        "except OSError: print('timeout')\n" % timeout
    )
    return host.check_output("python3 -c %s %s %s", script, target, str(port))


# --- The app host is admitted --------------------------------------------------

def test_app_host_reaches_postgresql_with_its_password(app, db, secrets):
    result = app.run(
        "PGPASSWORD=%s PGCONNECT_TIMEOUT=5 psql -XAt -h %s -U %s -d %s -c 'SELECT current_user'",
        secrets["vault_app_db_password"], address(db), APP, APP,
    )
    assert result.rc == 0, result.stderr
    assert result.stdout.strip() == APP


def test_app_host_reaches_redis_as_its_acl_user(app, db, secrets):
    result = app.run(
        "redis-cli -h %s -p %s --user %s --pass %s --no-auth-warning PING",
        address(db), str(REDIS_PORT), APP, secrets["vault_app_redis_password"],
    )
    assert result.stdout.strip() == "PONG", result.stdout + result.stderr


def test_app_host_reaches_node_api_port_but_not_other_ports(app, db):
    # Nothing listens on node-api yet: "refused" means the firewall let it through.
    assert tcp_probe(app, address(db), 3001) == "refused"
    assert tcp_probe(app, address(db), 8000) == "timeout"


# --- The outsider is refused ---------------------------------------------------

@pytest.mark.parametrize("port", [DB_PORT, REDIS_PORT, 3001])
def test_outsider_is_dropped_by_the_firewall(outsider, db, port):
    assert tcp_probe(outsider, address(db), port) == "timeout"


def test_outsider_is_refused_by_pg_hba_too(db, secrets):
    # Past the firewall (the db host's own private address goes over
    # loopback), an address outside the allowed groups still gets no entry.
    result = db.run(
        "PGPASSWORD=%s PGCONNECT_TIMEOUT=5 psql -XAt -h %s -U %s -d %s -c 'SELECT 1'",
        secrets["vault_app_db_password"], address(db), APP, APP,
    )
    assert result.rc != 0
    assert "pg_hba.conf rejects connection" in result.stderr, result.stderr


# --- UFW rules follow the inventory ------------------------------------------------

def allowed_rules(host):
    """{(port/proto, action, source)} from `ufw status verbose`, comments dropped."""
    rules = set()
    for line in host.check_output("ufw status verbose").splitlines():
        match = re.match(r"^(\S+(?: \(v6\))?)\s+(ALLOW IN|LIMIT IN|DENY IN)\s+(.+?)\s*(?:#.*)?$", line)
        if match:
            rules.add((match.group(1), match.group(2), match.group(3)))
    return rules


SSH = {("22/tcp", "LIMIT IN", "Anywhere"), ("22/tcp (v6)", "LIMIT IN", "Anywhere (v6)")}


def test_db_host_admits_exactly_its_clients(db, app):
    # db+redis+node on data-db: PostgreSQL, Redis and node-api from data-app
    # (app, worker); data-db reaches itself over loopback; gunicorn (app)
    # would be open to web hosts, of which there are none.
    client = address(app)
    assert allowed_rules(db) == SSH | {
        ("5432/tcp", "ALLOW IN", client),
        ("6379/tcp", "ALLOW IN", client),
        ("3001/tcp", "ALLOW IN", client),
    }


def test_app_host_admits_gunicorn_from_node_hosts_only(app, db):
    # Gunicorn (app) is open to web hosts (none here) and to node hosts,
    # whose services call Django's service API: data-db runs them.
    assert allowed_rules(app) == SSH | {("8000/tcp", "ALLOW IN", address(db))}


def test_outsider_only_admits_ssh():
    assert allowed_rules(_host("data-outsider")) == SSH


# --- Enabling the firewall keeps SSH -------------------------------------------------

def test_ssh_connection_survives_enabling_the_firewall(db, outsider):
    target = address(db)
    # The outsider holds an SSH session open (banner read) across a
    # disable/enable cycle, then completes the key exchange on it.
    holder = (
        "import socket,sys,time\n"
        "s=socket.create_connection((sys.argv[1],22),timeout=5)\n"
        "banner=s.recv(256)\n"
        "open('/tmp/ssh-probe','w').write('connected\\n')\n"
        "time.sleep(6)\n"
        "s.sendall(b'SSH-2.0-probe\\r\\n')\n"
        "data=s.recv(4096)\n"
        "open('/tmp/ssh-probe','a').write('banner=%s kex=%d\\n' % (banner.startswith(b'SSH-2.0'), len(data)))\n"
    )
    outsider.run("rm -f /tmp/ssh-probe")
    outsider.run("nohup python3 -c %s %s >/tmp/ssh-probe.log 2>&1 &", holder, target)
    for _ in range(50):
        if outsider.file("/tmp/ssh-probe").exists:
            break
        time.sleep(0.1)
    try:
        db.check_output("ufw --force disable && ufw --force enable")
    finally:
        db.run("ufw --force enable")
    for _ in range(100):
        content = outsider.file("/tmp/ssh-probe").content_string
        if "kex=" in content:
            break
        time.sleep(0.1)
    assert "banner=True" in content, content + outsider.file("/tmp/ssh-probe.log").content_string
    assert int(re.search(r"kex=(\d+)", content).group(1)) > 0
    # And a new SSH connection is admitted, while PostgreSQL stays closed.
    assert tcp_probe(outsider, target, 22) == "open"
    assert tcp_probe(outsider, target, DB_PORT) == "timeout"


# --- Rules follow the inventory when it shrinks ---------------------------------------

def test_firewall_run_deletes_rules_for_hosts_no_longer_in_the_inventory(db, app):
    # A rule as the role writes it, for a client that is not (any more) in
    # the inventory; a hand-made rule beside it must survive.
    db.check_output("ufw allow from 10.9.9.9 to any port %s proto tcp comment postgresql", str(DB_PORT))
    db.check_output("ufw allow from 10.9.9.8 to any port 9999 proto tcp comment by-hand")
    try:
        project = os.environ["MOLECULE_PROJECT_DIRECTORY"]
        # --limit: the app host's facts are not gathered by this run (and no
        # fact cache), so the role must fetch them itself.
        run = subprocess.run(
            ["ansible-playbook", "-i", os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"]),
             "--limit", "data-db", "playbooks/firewall.yml"],
            cwd=project, capture_output=True, text=True, timeout=300, check=False,
            env={**os.environ, "ANSIBLE_CACHE_PLUGIN": "memory", "ANSIBLE_ROLES_PATH": os.path.join(project, "roles")},
        )
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
        added = db.check_output("ufw show added")
        assert "10.9.9.9" not in added
        assert "10.9.9.8" in added
        assert f"ufw allow from {address(app)} to any port {DB_PORT} proto tcp comment 'postgresql'" in added
    finally:
        db.run("ufw delete allow from 10.9.9.8 to any port 9999 proto tcp")
        db.run("ufw delete allow from 10.9.9.9 to any port %s proto tcp", str(DB_PORT))
