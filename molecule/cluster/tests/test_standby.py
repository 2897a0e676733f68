"""PostgreSQL's hot standby on db2, from outside: rows written through the
API reach it within 5 s, it refuses writes, the primary and Prometheus see
it stream. Then, as an operator runs them under a steady stream of writes
through Nginx: switchover.yml (db2 becomes the primary, db1 its standby, no
acknowledged row lost), and failover.yml after db2's container is killed
(db1 promoted, the API back, every acknowledged row there, and the killed
host, started again, takes no writes). Marked state_changing and last: it
moves the primary."""

import os
import re
import shlex
import subprocess
import sys
import time

import pytest
from conftest import APP, REPO, edge, get_host, wait_for

sys.path.insert(0, os.path.join(REPO, "molecule", "shared", "tests"))
import estate  # noqa: E402

pytestmark = [
    pytest.mark.state_changing,
    pytest.mark.skipif(not os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY"), reason="needs a Molecule run"),
]

WRITES_LOG = "/root/standby-writes.log"


def psql(host, sql, database=APP):
    """psql as postgres on host; (rc, stdout, stderr)."""
    result = host.run(f"runuser -u postgres -- psql -XAt -d {database} -c {shlex.quote(sql)}")
    return result.rc, result.stdout.strip(), result.stderr.strip()


def in_recovery(host):
    return psql(host, "SELECT pg_is_in_recovery()", "postgres")[1]


def present(host, ids):
    """Which of the probe ids are rows on host."""
    if not ids:
        return set()
    rc, out, err = psql(host, f"SELECT id FROM core_taskprobe WHERE id IN ({','.join(map(str, ids))})")
    assert rc == 0, err
    return {int(line) for line in out.splitlines()}


def write_probe(web1, token):
    status, probe = edge(web1, "POST", "/api/tasks/probe/", token, {"sleep": 0})
    assert status == 202, probe
    return probe["id"]


class Writer:
    """A client on web1 creating a row through Nginx every 0.3 s; every 202
    and the id it acknowledged are logged."""

    def __init__(self, host, token):
        self.host, self.token = host, token

    def __enter__(self):
        self.host.run(f"systemctl stop standby-writer 2>/dev/null; rm -f {WRITES_LOG}")
        loop = (
            "while :; do "
            "curl -sk --max-time 5 -o /root/standby-write.body -w '%{http_code} ' -X POST "
            f"-H 'Host: localhost' -H 'Authorization: Token {self.token}' -H 'Content-Type: application/json' "
            "--data '{\"sleep\": 0}' https://127.0.0.1/api/tasks/probe/ >>" + WRITES_LOG + "; "
            f"cat /root/standby-write.body >>{WRITES_LOG} 2>/dev/null; echo >>{WRITES_LOG}; sleep 0.3; done"
        )
        result = self.host.run(f"systemd-run --unit=standby-writer --collect sh -c {shlex.quote(loop)}")
        assert result.rc == 0, result.stderr
        return self

    def acknowledged(self):
        out = self.host.run(f"cat {WRITES_LOG}").stdout
        return [int(m.group(1)) for m in re.finditer(r'^202 \{"id":\s*(\d+)', out, re.M)]

    def wait_for_writes(self, count):
        start = len(self.acknowledged())
        assert wait_for(lambda: len(self.acknowledged()) >= start + count, timeout=60, interval=1), \
            self.host.run(f"tail -5 {WRITES_LOG}").stdout

    def __exit__(self, *exc):
        self.host.run("systemctl stop standby-writer")


# --- The standby -------------------------------------------------------------------

def test_a_row_written_through_the_api_is_on_the_standby_within_5s(web1, db2, token):
    probe = write_probe(web1, token)
    assert wait_for(lambda: present(db2, [probe]) == {probe}, timeout=5, interval=0.5)


def test_the_standby_refuses_writes(db2):
    rc, _, err = psql(db2, "CREATE TABLE written_on_a_standby (id int)")
    assert rc != 0
    assert "read-only transaction" in err
    assert in_recovery(db2) == "t"


def test_the_primary_sees_its_standby_stream_synchronously(db1):
    rc, out, err = psql(db1, "SELECT application_name, state, sync_state FROM pg_stat_replication", "postgres")
    assert rc == 0, err
    # app_db_synchronous_standbys: 1 (ANY 1): a quorum standby.
    assert out == "cluster-db2|streaming|quorum"


def test_prometheus_sees_the_lag_and_the_slot(mon1):
    def metrics():
        lag = estate.prometheus_query(mon1, 'pg_replication_lag_seconds{instance="cluster-db2"}')
        slot = estate.prometheus_query(mon1, 'pg_replication_slot_slot_is_active{instance="cluster-db1"} == 1')
        return lag and slot and (lag, slot)

    found = wait_for(metrics, timeout=60, interval=5)
    assert found, "no replication lag for db2 or no active slot on db1 in Prometheus"
    (labels, value), = found[0]
    assert float(value) < 60, found


# --- Switchover and failover ---------------------------------------------------------

def test_switchover_swaps_the_roles_and_loses_no_acknowledged_write(web1, db1, db2, token):
    with Writer(web1, token) as writer:
        writer.wait_for_writes(5)
        rc, out = estate.playbook("switchover.yml", timeout=1200)
        assert rc == 0, out[-4000:]
        writer.wait_for_writes(5)  # writing again, through the new primary
    acknowledged = writer.acknowledged()
    assert in_recovery(db2) == "f" and in_recovery(db1) == "t"
    missing = set(acknowledged) - present(db2, acknowledged)
    assert not missing, f"{len(missing)} of {len(acknowledged)} acknowledged rows lost: {sorted(missing)}"
    # Replication runs again, the other way: a new row reaches db1.
    rc, state, _ = psql(db2, "SELECT application_name, state FROM pg_stat_replication", "postgres")
    assert state == "cluster-db1|streaming"
    probe = write_probe(web1, token)
    assert wait_for(lambda: present(db1, [probe]) == {probe}, timeout=5, interval=0.5)
    assert "group db = cluster-db2; group db_replica = cluster-db1" in " ".join(out.split())
    # The status table tells the operator which host is which now.
    rc, out = estate.playbook("status.yml")
    assert rc == 0, out[-3000:]
    shown = " ".join(out.split())
    assert "database primary (standbys: cluster-db1 streaming" in shown, out[-3000:]
    assert "database standby of " in shown and "(streaming)" in shown, out[-3000:]


def test_failover_promotes_the_standby_and_the_lost_primary_stays_fenced(web1, db1, token):
    with Writer(web1, token) as writer:
        writer.wait_for_writes(5)
        subprocess.run(["docker", "kill", "cluster-db2"], check=True, capture_output=True)
        rc, out = estate.playbook("failover.yml", timeout=1200)
        assert rc == 0, out[-4000:]
        writer.wait_for_writes(5)
    acknowledged = writer.acknowledged()
    # The API is back on the promoted standby, with every acknowledged row.
    status, body = edge(web1, "GET", "/readyz")
    assert status == 200, body
    assert in_recovery(db1) == "f"
    missing = set(acknowledged) - present(db1, acknowledged)
    assert not missing, f"{len(missing)} of {len(acknowledged)} acknowledged rows lost: {sorted(missing)}"
    assert "FAILOVER DONE: cluster-db1 is the primary" in out

    # The lost primary comes back: its start check finds db1 on a later
    # timeline, fences it and keeps PostgreSQL down (no restart loop).
    subprocess.run(["docker", "start", "cluster-db2"], check=True, capture_output=True)
    db2 = get_host("cluster-db2")
    service = "postgresql@17-main"
    assert wait_for(lambda: db2.run("systemctl is-system-running --wait").rc in (0, 1), timeout=120)
    time.sleep(10)
    assert db2.run(f"systemctl is-active {service}").stdout.strip() != "active"
    assert "by the start check" in db2.run("cat /var/lib/postgresql/17/main.fenced").stdout
    rc, _, err = psql(db2, "CREATE TABLE written_on_a_fenced_host (id int)")
    assert rc != 0, "the old primary took a write"
    # It stays down: a skipped start is not retried.
    assert db2.run(f"systemctl show -P NRestarts {service}").stdout.strip() == "0"
