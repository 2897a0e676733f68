"""Point-in-time recovery and Redis' data seen from outside: the backup host's
pgBackRest repository holds base backups and the WAL archive (encrypted, the
pass on that host only), the daily unit takes a differential backup and a
root-owned snapshot that the repository's account (all a db host's key can
reach) cannot delete, a PITR drill brings the database back to a noted
moment, and Redis' RDB file is in the backup set and restores a key. Runs
after test_backup.py (file order)."""

import json
import os
import shlex
import sys
import time
import uuid

import pytest

REPO = os.environ.get("MOLECULE_PROJECT_DIRECTORY", os.path.abspath(os.path.join(os.path.dirname(__file__), "../../..")))
sys.path.insert(0, os.path.join(REPO, "molecule", "shared", "tests"))
sys.path.insert(0, os.path.dirname(__file__))
import test_backup  # noqa: E402
from estate import APP, playbook, secrets, wait_for  # noqa: E402
from test_backup import API, SETS, api, latest_good, run_cron_job  # noqa: E402

# The same hosts and API token fixtures as test_backup.py.
aio, store, token = test_backup.aio, test_backup.store, test_backup.token

STANZA = APP
REPO_USER = "pgbackrest"
REPO_PATH = "/var/lib/pgbackrest/repo"
SNAPSHOTS = f"/var/backups/{APP}-pgbackrest-snapshots"
UNIT = f"{APP}-pgbackrest"

pytestmark = pytest.mark.skipif(
    not os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY"), reason="needs a Molecule run"
)


def info(host):
    out = host.check_output(f"runuser -u {REPO_USER} -- pgbackrest --stanza={STANZA} --output=json info")
    return json.loads(out)[0]


def psql(host, sql):
    return host.check_output(f"runuser -u postgres -- psql -XAtq -d {APP} -c {shlex.quote(sql)}")


def snapshots(host):
    return sorted(host.check_output(f"ls -1 {SNAPSHOTS}").split())


# --- The repository ----------------------------------------------------------

def test_backup_host_holds_a_full_backup_and_the_wal_archive(store):
    stanza = info(store)
    assert stanza["status"]["code"] == 0, stanza["status"]
    assert any(b["type"] == "full" for b in stanza["backup"])
    archive = stanza["archive"][0]
    assert archive["min"] and archive["max"] and archive["min"] <= archive["max"]
    assert stanza["cipher"] == "aes-256-cbc"


def test_wal_written_now_reaches_the_archive(aio, store):
    before = info(store)["archive"][0]["max"]
    psql(aio, "CREATE TABLE IF NOT EXISTS pitr_probe (t timestamptz); INSERT INTO pitr_probe VALUES (now())")
    segment = psql(aio, "SELECT pg_walfile_name(pg_current_wal_lsn())")
    psql(aio, "SELECT pg_switch_wal()")
    assert wait_for(lambda: info(store)["archive"][0]["max"] >= segment, timeout=60), (before, segment)
    psql(aio, "DROP TABLE pitr_probe")


def test_cipher_pass_is_only_on_the_backup_host(aio, store):
    cipher = secrets()["vault_pgbackrest_cipher_pass"]
    assert aio.run(f"grep -rqF -- {shlex.quote(cipher)} /etc/pgbackrest /etc/pgbackrest.conf").rc != 0
    assert store.run(f"grep -qF -- {shlex.quote(cipher)} /etc/pgbackrest/pgbackrest.conf").rc == 0
    conf = store.file("/etc/pgbackrest/pgbackrest.conf")
    assert (conf.user, conf.group, conf.mode) == ("root", REPO_USER, 0o640)
    # Encrypted at rest: the repository's manifest is not readable text.
    assert store.run(f"grep -rqs 'backup-label' {REPO_PATH}/backup/{STANZA}/backup.info").rc != 0


def test_timers_schedule_a_weekly_full_and_a_daily_differential(store):
    for kind, calendar in (("full", "Sun"), ("diff", "Mon..Sat")):
        timer = f"{UNIT}-{kind}.timer"
        assert store.service(timer).is_enabled and store.service(timer).is_running
        assert calendar in store.check_output(f"systemctl show -p TimersCalendar --value {timer}")


def test_daily_unit_takes_a_differential_backup_checks_and_snapshots(store):
    before_backups = len(info(store)["backup"])
    before_snapshots = snapshots(store)
    store.check_output(f"systemctl start {UNIT}@diff.service")
    backups = info(store)["backup"]
    assert len(backups) == before_backups + 1 and backups[-1]["type"] == "diff"
    after = snapshots(store)
    assert len(after) == len(before_snapshots) + 1 and after[-1] not in before_snapshots
    # The snapshot is the repository as the backup left it.
    listing = "cd {} && find . -path ./archive -prune -o -type f -print | sort"
    assert store.check_output(listing.format(f"{SNAPSHOTS}/{after[-1]}")) == store.check_output(listing.format(REPO_PATH))


# --- What a db host's key can reach ----------------------------------------------

def test_repository_account_cannot_delete_the_snapshots(store):
    newest = snapshots(store)[-1]
    files = store.check_output(f"find {SNAPSHOTS}/{newest} -type f | wc -l")
    assert int(files) > 0
    removal = store.run(f"runuser -u {REPO_USER} -- rm -rf {SNAPSHOTS}/{newest}")
    assert removal.rc != 0 and "Permission denied" in removal.stderr
    assert store.run(f"runuser -u {REPO_USER} -- ls {SNAPSHOTS}").rc != 0
    assert store.check_output(f"find {SNAPSHOTS}/{newest} -type f | wc -l") == files
    # What the snapshots guard against: that account can delete the live repository.
    assert store.run(f"runuser -u {REPO_USER} -- test -w {REPO_PATH}/backup/{STANZA}").rc == 0


def test_db_hosts_key_runs_nothing_but_pgbackrest(aio, store):
    newest = snapshots(store)[-1]
    address = store.check_output("ip -4 route get 1.1.1.1 | grep -o 'src [0-9.]*' | cut -d' ' -f2")
    shell = aio.run(f"runuser -u postgres -- ssh {address} {shlex.quote(f'rm -rf {SNAPSHOTS}/{newest}; id')}")
    assert shell.rc != 0 and "uid=" not in shell.stdout
    assert store.file(f"{SNAPSHOTS}/{newest}").is_directory


# --- Redis' data ------------------------------------------------------------------

def redis_cli(host, *args):
    vault = secrets()
    command = ["redis-cli", "--no-auth-warning", "--user", APP, "--pass", vault["vault_app_redis_password"], *args]
    return host.check_output(" ".join(shlex.quote(a) for a in command))


def test_redis_rdb_is_in_the_backup_set_and_restores_a_key(aio):
    key, value = f"{APP}:drill:{uuid.uuid4().hex}", uuid.uuid4().hex
    assert redis_cli(aio, "SET", key, value) == "OK"
    # Redis saves its RDB on its schedule and when it stops cleanly.
    aio.check_output("systemctl restart redis-server")
    result = run_cron_job(aio)
    assert result.rc == 0, result.stderr
    taken = latest_good(aio)
    rdb = f"{SETS}/{taken}/redis.rdb"
    assert aio.file(rdb).exists and aio.run(f"redis-check-rdb {rdb}").rc == 0
    assert aio.run(f"grep -qaF {key} {rdb}").rc == 0

    assert redis_cli(aio, "DEL", key) == "1"
    rc, out = playbook("restore.yml", "-e", "restore_confirm=yes", "-e", "restore_redis=true")
    assert rc == 0, out[-4000:]
    assert redis_cli(aio, "GET", key) == value
    # The restored data is Redis' append-only file's base now: a restart keeps it.
    aio.check_output("systemctl restart redis-server")
    assert redis_cli(aio, "GET", key) == value


# --- The PITR drill (last: it replaces the cluster) ---------------------------------

def new_client(aio, token, label):
    status, client = api(aio, "POST", "/api/clients/", token, "-H", "Content-Type: application/json",
                         "-d", json.dumps({"name": f"{label} {uuid.uuid4().hex}"}))
    assert status == 201, client
    return client["id"]


def test_pitr_drill_restores_the_noted_moment(aio, token):
    kept = [new_client(aio, token, "Before") for _ in range(3)]
    time.sleep(1.5)
    target = psql(aio, "SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || '+00'")
    time.sleep(1.5)
    later = [new_client(aio, token, "After") for _ in range(2)]
    assert api(aio, "DELETE", f"/api/clients/{kept[0]}/", token)[0] == 204

    rc, out = playbook("restore.yml", "-e", "restore_confirm=yes", "-e", json.dumps({"restore_target_time": target}))
    assert rc == 0, out[-4000:]
    assert f"restored to {target}" in out

    for client in kept:
        assert api(aio, "GET", f"/api/clients/{client}/", token)[0] == 200, client
    for client in later:
        assert api(aio, "GET", f"/api/clients/{client}/", token)[0] == 404, client
    assert aio.run(f"curl -fsS {API}/readyz").rc == 0
    assert psql(aio, "SELECT pg_is_in_recovery()") == "f"
