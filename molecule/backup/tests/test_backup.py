"""Backups and restore seen from outside: the cron job's own command takes a
set, a restore drill brings back rows and an upload made through the
application, a compose deployment's PostgreSQL 15 dump and media archive are
imported (and damaged or too new dumps refused before anything stops), corrupted sets are not "the newest good backup", a failed run
exits non-zero and leaves the freshness metric alone, copies arrive on the
store whose account can only receive files, and retention keeps exactly the
configured counts on a forged calendar. Tests run in file order; the last
one forges dates and cleans up after itself."""

import datetime
import json
import os
import re
import shlex
import subprocess
import sys
import time
import uuid

import pytest
import testinfra

REPO = os.environ.get("MOLECULE_PROJECT_DIRECTORY", os.path.abspath(os.path.join(os.path.dirname(__file__), "../../..")))
sys.path.insert(0, os.path.join(REPO, "molecule", "shared", "tests"))
from estate import APP, api_token, playbook  # noqa: E402  (shared with the all-in-one scenario)

BACKUP_DIR = f"/var/backups/{APP}"
SETS = f"{BACKUP_DIR}/sets"
SCRIPT = f"/usr/local/sbin/{APP}-backup"
CRON_FILE = f"/etc/cron.d/{APP}-backup"
BACKUP_USER = f"backup-{APP}"
STORE_USER = f"{APP}-backupstore"
STORE_DIR = f"/var/backups/{APP}-store"
METRIC_FILE = f"/var/lib/prometheus/node-exporter/{APP}_backup.prom"
KEEP_LAST, KEEP_DAILY, KEEP_WEEKLY, KEEP_MONTHLY = 3, 7, 4, 6
API = "http://127.0.0.1:8000"

pytestmark = pytest.mark.skipif(
    not os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY"), reason="needs a Molecule run"
)


def _host(name):
    return testinfra.get_host(f"ansible://{name}?ansible_inventory={os.environ['MOLECULE_INVENTORY_FILE']}")


@pytest.fixture(scope="module")
def aio():
    return _host("backup-aio")


@pytest.fixture(scope="module")
def store():
    return _host("backup-store")


def cron_command(host):
    """The command of the cron job, exactly as cron runs it."""
    for line in host.file(CRON_FILE).content_string.splitlines():
        if line.strip() and not line.startswith("#") and "=" not in line.split()[0]:
            return " ".join(line.split()[6:])
    raise AssertionError(f"no job in {CRON_FILE}")


def run_cron_job(host, now=None):
    env = f"BACKUP_NOW={shlex.quote(now)} " if now else ""
    return host.run(f"{env}sh -c {shlex.quote(cron_command(host))}")


def sets(host):
    return sorted(n for n in host.file(SETS).listdir() if not n.startswith("."))


def latest_good(host):
    return host.check_output(f"{SCRIPT} latest")


def api(host, method, path, token, *curl_args):
    command = ["curl", "-sS", "-X", method, "-H", "X-Forwarded-Proto: https",
               "-H", f"Authorization: Token {token}", "-w", "\\n%{http_code}", *curl_args, f"{API}{path}"]
    out = host.check_output(" ".join(shlex.quote(a) for a in command))
    body, _, status = out.rpartition("\n")
    return int(status), (json.loads(body) if body.strip() else None)


def metric(host):
    values = {}
    for line in host.file(METRIC_FILE).content_string.splitlines():
        if line and not line.startswith("#"):
            name, value = line.split()
            values[name] = float(value)
    return values


# --- The cron job and what it writes -----------------------------------------

def test_cron_job_runs_the_script_under_flock(aio):
    command = cron_command(aio)
    assert command.startswith("flock -n ") and SCRIPT in command


def test_cron_job_writes_a_set_only_the_backup_user_can_read(aio):
    before = sets(aio)
    result = run_cron_job(aio)
    assert result.rc == 0, result.stderr
    new = sorted(set(sets(aio)) - set(before))
    assert len(new) == 1
    directory = f"{SETS}/{new[0]}"
    names = aio.file(directory).listdir()
    assert {f"db-{APP}.dump", "files-media.tar.gz", "SHA256SUMS", "manifest.json"} <= set(names)
    assert aio.file(directory).user == BACKUP_USER and aio.file(directory).mode == 0o700
    for name in names:
        f = aio.file(f"{directory}/{name}")
        assert (f.user, f.group, f.mode) == (BACKUP_USER, BACKUP_USER, 0o600), name
    manifest = json.loads(aio.file(f"{directory}/manifest.json").content_string)
    assert manifest["postgresql_version"].split(".")[0] == "17"
    assert manifest["release"] == aio.file(f"/srv/{APP}/current/RELEASE").content_string.strip()
    dump = next(f for f in manifest["files"] if f["kind"] == "postgresql")
    assert dump["database"] == APP and dump["size"] == aio.file(f"{directory}/db-{APP}.dump").size
    assert aio.run(f"cd {directory} && sha256sum -c SHA256SUMS").rc == 0
    # A compressed custom-format archive that pg_restore can read.
    listing = aio.check_output(f"pg_restore --list {directory}/db-{APP}.dump")
    assert "Format: CUSTOM" in listing
    assert "Compression: 0" not in listing and "Compression: none" not in listing


def test_each_run_is_in_the_journal(aio):
    journal = aio.check_output(f"journalctl -t {APP}-backup --no-pager -o cat")
    assert "succeeded" in journal


# --- The restore drill ----------------------------------------------------------

@pytest.fixture(scope="module")
def token(aio):
    return api_token(aio, APP, "drill")


def client_with_upload(aio, token, label):
    """A client and a PDF uploaded for it, through the API: (marker, client,
    document, the file's path on the host, its SHA-256)."""
    marker = uuid.uuid4().hex
    status, client = api(aio, "POST", "/api/clients/", token, "-H", "Content-Type: application/json",
                         "-d", json.dumps({"name": f"{label} {marker}", "notes": marker}))
    assert status == 201, client
    upload = f"/var/tmp/{label.lower()}-{marker}.pdf"
    aio.check_output(f"printf %s {shlex.quote(f'%PDF-1.4 {label} {marker}')} > {upload}")
    status, document = api(aio, "POST", "/api/documents/", token,
                           "-F", f"client={client['id']}", "-F", f"file=@{upload};type=application/pdf")
    assert status == 201, document
    path = aio.check_output(f"find /srv/{APP}/shared/media -type f -name {shlex.quote(os.path.basename(document['url']))}")
    assert path
    return marker, client, document, path, aio.check_output(f"sha256sum {shlex.quote(path)}").split()[0]


def remove_client_and_upload(aio, token, client, document, path):
    """The loss: the rows deleted through the API, the file from the disk."""
    assert api(aio, "DELETE", f"/api/documents/{document['id']}/", token)[0] == 204
    assert api(aio, "DELETE", f"/api/clients/{client['id']}/", token)[0] == 204
    aio.check_output(f"rm -f {shlex.quote(path)}")
    assert api(aio, "GET", f"/api/clients/{client['id']}/", token)[0] == 404


def test_restore_drill_brings_back_rows_and_the_upload(aio, token):
    marker, client, document, path, checksum = client_with_upload(aio, token, "Drill")

    result = run_cron_job(aio)
    assert result.rc == 0, result.stderr
    taken = latest_good(aio)

    remove_client_and_upload(aio, token, client, document, path)

    rc, out = playbook("restore.yml", "-e", "restore_confirm=yes", "-e", "restore_media=true")
    assert rc == 0, out[-4000:]
    assert taken in out

    status, restored = api(aio, "GET", f"/api/clients/{client['id']}/", token)
    assert status == 200 and restored["name"] == f"Drill {marker}" and restored["notes"] == marker
    assert api(aio, "GET", f"/api/documents/{document['id']}/", token)[0] == 200
    assert aio.file(path).exists
    assert aio.check_output(f"sha256sum {shlex.quote(path)}").split()[0] == checksum
    # Ownership ends with the application's role, the app serves again.
    owners = aio.check_output(
        "runuser -u postgres -- psql -XAt -d %s -c %s", APP,
        "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'")
    assert owners.split() == [APP]
    assert aio.run(f"curl -fsS {API}/readyz").rc == 0
    # A safety dump of the replaced state was taken first.
    assert aio.run(f"ls {BACKUP_DIR}/safety/pre-restore-*-{APP}.dump").rc == 0


def test_restore_refuses_without_confirmation(aio):
    safety_before = aio.file(f"{BACKUP_DIR}/safety").listdir()
    rc, out = playbook("restore.yml")
    assert rc != 0
    assert "restore_confirm=yes" in out
    assert aio.file(f"{BACKUP_DIR}/safety").listdir() == safety_before
    assert aio.service(f"{APP}-gunicorn.socket").is_running
    assert aio.run(f"curl -fsS {API}/readyz").rc == 0


# --- Moving in: a compose deployment's data (playbooks/import.yml) ----------------

IMAGE_REPO = os.environ.get("IMAGE_REPO", "localhost/debian-systemd")
# Every public table and its row count, on PostgreSQL 15 as on 17.
ROW_COUNTS = ("SELECT table_name || ' ' || (xpath('/row/c/text()', query_to_xml(format("
              "'SELECT count(*) AS c FROM %I.%I', table_schema, table_name), false, true, '')))[1]::text "
              "FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1")


def docker_exec(name, command, **kwargs):
    return subprocess.run(["docker", "exec", "-i", name, "sh", "-c", command],
                          check=True, capture_output=True, text=True, **kwargs).stdout


@pytest.fixture(scope="module")
def pg15():
    """PostgreSQL 15, as the compose stack's image runs it: Debian 12's
    postgresql-15 in a throwaway container of the test machine."""
    name = f"ddeploy-pg15-{uuid.uuid4().hex[:8]}"
    proxy = os.environ.get("TEST_APT_PROXY", "")
    apt = f"-o Acquire::http::Proxy={shlex.quote(proxy)}" if proxy else ""
    subprocess.run(["docker", "run", "-d", "--name", name, "--entrypoint", "sleep", f"{IMAGE_REPO}:bookworm", "infinity"],
                   check=True, capture_output=True)
    try:
        docker_exec(name, f"apt-get -q {apt} update && DEBIAN_FRONTEND=noninteractive apt-get -q {apt} install -y "
                          "--no-install-recommends postgresql-15 && (pg_ctlcluster 15 main start || true)")
        yield name
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)


def row_counts(run_psql):
    return dict(line.split(" ") for line in run_psql(ROW_COUNTS).split("\n") if line)


def compose_export(aio, pg15, tmp_path):
    """What an operator brings from the compose stack, made as the README's
    runbook makes it: `pg_dump -Fc` of its PostgreSQL 15 (here loaded with the
    estate's schema and rows) and a tar of the media volume's content."""
    aio.check_output(f"runuser -u postgres -- pg_dump --no-owner --no-privileges {APP} "
                     "| grep -v '^SET transaction_timeout' > /var/tmp/estate.sql")  # a 17-only setting
    plain = tmp_path / "estate.sql"
    subprocess.run(["docker", "cp", "backup-aio:/var/tmp/estate.sql", str(plain)], check=True)
    docker_exec(pg15, f"runuser -u postgres -- dropdb --if-exists {APP} && runuser -u postgres -- createdb {APP}")
    with open(plain, encoding="utf-8") as sql:
        docker_exec(pg15, f"runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 -d {APP}", stdin=sql)
    docker_exec(pg15, f"runuser -u postgres -- pg_dump -Fc {APP} > /root/compose-db.dump")
    assert "Dumped from database version: 15." in docker_exec(pg15, "pg_restore --list /root/compose-db.dump")
    dump = tmp_path / "compose-db.dump"
    subprocess.run(["docker", "cp", f"{pg15}:/root/compose-db.dump", str(dump)], check=True)
    aio.check_output(f"tar -C /srv/{APP}/shared/media -czf /var/tmp/compose-media.tar.gz .")
    media = tmp_path / "compose-media.tar.gz"
    subprocess.run(["docker", "cp", "backup-aio:/var/tmp/compose-media.tar.gz", str(media)], check=True)
    counts = row_counts(lambda q: docker_exec(pg15, f"runuser -u postgres -- psql -XAt -d {APP} -c {shlex.quote(q)}"))
    return dump, media, counts


def estate_dump(aio, tmp_path, name):
    """A dump of the estate's own database (PostgreSQL 17), for the refusals."""
    aio.check_output(f"runuser -u postgres -- pg_dump -Fc {APP} > /var/tmp/{name}")
    dump = tmp_path / name
    subprocess.run(["docker", "cp", f"backup-aio:/var/tmp/{name}", str(dump)], check=True)
    return dump


def test_import_brings_in_a_compose_deployments_rows_and_uploads(aio, pg15, token, tmp_path):
    marker, client, document, path, checksum = client_with_upload(aio, token, "Moved")
    dump, media, source_counts = compose_export(aio, pg15, tmp_path)
    assert int(source_counts["crm_client"]) >= 1 and int(source_counts["django_migrations"]) > 0

    # The estate differs from the export: the client and its file are gone, a
    # client the export does not have exists.
    remove_client_and_upload(aio, token, client, document, path)
    status, stray = api(aio, "POST", "/api/clients/", token, "-H", "Content-Type: application/json",
                        "-d", json.dumps({"name": f"Not in the export {marker}"}))
    assert status == 201, stray

    rc, out = playbook("import.yml", "-e", "import_confirm=yes", "-e", f"import_db_dump={dump}",
                       "-e", f"import_media_archive={media}")
    assert rc == 0, out[-4000:]
    assert f"{len(source_counts)} tables, each with as many rows as the dump" in " ".join(out.split())
    assert "checksums match" in out
    # The counts the import held the restore to (inside its transaction), table
    # by table, are PostgreSQL 15's. (Counted again now, the estate would
    # differ: its deposit monitor writes as soon as it runs.)
    imported = dict(re.findall(r"public\.(\w+) (\d+)", " ".join(out.split()).split("each with as many rows")[1]))
    assert imported == source_counts

    status, moved = api(aio, "GET", f"/api/clients/{client['id']}/", token)
    assert status == 200 and moved["name"] == f"Moved {marker}"
    assert api(aio, "GET", f"/api/clients/{stray['id']}/", token)[0] == 404
    assert aio.check_output(f"sha256sum {shlex.quote(path)}").split()[0] == checksum
    # Nginx (another user) serves the imported upload.
    assert aio.file(path).mode == 0o644
    owners = aio.check_output(
        "runuser -u postgres -- psql -XAt -d %s -c %s", APP,
        "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'")
    assert owners.split() == [APP]
    assert aio.run(f"curl -fsS {API}/readyz").rc == 0


def assert_import_refused(aio, token, dump, why):
    """import.yml refuses DUMP, saying why, before the application stops: it
    serves, and a row made just before is still there."""
    status, client = api(aio, "POST", "/api/clients/", token, "-H", "Content-Type: application/json",
                         "-d", json.dumps({"name": "Made before a refused import"}))
    assert status == 201, client
    rc, out = playbook("import.yml", "-e", "import_confirm=yes", "-e", f"import_db_dump={dump}")
    assert rc != 0
    assert why in " ".join(out.split())
    assert aio.service(f"{APP}-gunicorn.socket").is_running
    assert api(aio, "GET", f"/api/clients/{client['id']}/", token)[0] == 200


def test_import_of_a_damaged_dump_changes_nothing(aio, token, tmp_path):
    dump = estate_dump(aio, tmp_path, "damaged.dump")
    dump.write_bytes(dump.read_bytes()[: dump.stat().st_size // 2])
    assert_import_refused(aio, token, dump, "is damaged: pg_restore cannot read all of its data")


def test_import_of_a_dump_from_a_newer_release_changes_nothing(aio, token, tmp_path):
    # The compose stack ran a release whose migrations this one lacks.
    psql = f"runuser -u postgres -- psql -XAtq -d {APP} -c"
    aio.check_output(f"{psql} \"INSERT INTO django_migrations (app, name, applied) VALUES ('crm', '0099_future', now())\"")
    dump = estate_dump(aio, tmp_path, "newer.dump")
    aio.check_output(f"{psql} \"DELETE FROM django_migrations WHERE name = '0099_future'\"")
    assert_import_refused(aio, token, dump, "the release does not know crm.0099_future")


# --- Corruption, failures, freshness ---------------------------------------------

def test_truncated_dump_is_not_the_newest_good_backup(aio):
    good = latest_good(aio)
    result = run_cron_job(aio)
    assert result.rc == 0, result.stderr
    newest = latest_good(aio)
    assert newest != good
    dump = f"{SETS}/{newest}/db-{APP}.dump"
    aio.check_output(f"truncate -s $(( $(stat -c %s {dump}) / 2 )) {dump}")
    assert latest_good(aio) == good
    assert f"{newest} BAD" in aio.check_output(f"{SCRIPT} list")
    assert aio.run(f"{SCRIPT} verify {newest}").rc != 0
    aio.check_output(f"rm -rf {SETS}/{newest}")


def test_metric_reflects_the_last_success(aio):
    start = int(aio.check_output("date +%s"))
    result = run_cron_job(aio)
    assert result.rc == 0, result.stderr
    end = int(aio.check_output("date +%s"))
    values = metric(aio)
    assert start <= values[f"{APP}_backup_last_success_timestamp_seconds"] <= end
    manifest = json.loads(aio.file(f"{SETS}/{latest_good(aio)}/manifest.json").content_string)
    assert values[f"{APP}_backup_last_size_bytes"] == manifest["size"] > 0
    assert aio.file(METRIC_FILE).mode == 0o644


def test_failed_run_exits_non_zero_and_leaves_the_metric_and_sets(aio):
    before_metric = aio.file(METRIC_FILE).content_string
    before_sets = sets(aio)
    cluster = aio.check_output("systemctl list-units --plain --no-legend 'postgresql@*' | awk '{print $1}'")
    aio.check_output(f"systemctl stop {cluster}")
    try:
        result = run_cron_job(aio)
    finally:
        aio.check_output(f"systemctl start {cluster}")
    assert result.rc != 0
    assert aio.file(METRIC_FILE).content_string == before_metric
    assert sets(aio) == before_sets
    time.sleep(1)
    assert "FAILED" in aio.check_output(f"journalctl -t {APP}-backup --no-pager -o cat -n 5")
    assert aio.run(f"ls -d {SETS}/.partial-* 2>/dev/null").stdout == ""


# --- Off-host copies ----------------------------------------------------------------

def test_the_newest_set_arrives_on_the_store(aio, store):
    newest = latest_good(aio)
    remote = f"{STORE_DIR}/backup-aio/{newest}/db-{APP}.dump"
    assert store.file(remote).exists
    assert store.file(remote).user == STORE_USER and store.file(remote).mode == 0o600
    local_sum = aio.check_output(f"sha256sum {SETS}/{newest}/db-{APP}.dump").split()[0]
    assert store.check_output(f"sha256sum {remote}").split()[0] == local_sum


def ssh_as_backup(aio, store, *args):
    address = store.check_output("ip -4 route get 1.1.1.1 | grep -o 'src [0-9.]*' | cut -d' ' -f2")
    ssh = (f"ssh -i {BACKUP_DIR}/.ssh/id_ed25519 -o BatchMode=yes -o IdentitiesOnly=yes "
           f"-o StrictHostKeyChecking=yes -o UserKnownHostsFile={BACKUP_DIR}/.ssh/known_hosts")
    return address, ssh


def test_store_account_refuses_commands(aio, store):
    address, ssh = ssh_as_backup(aio, store)
    # The store's firewall limits SSH to 6 connections per 30 s and source:
    # start with a clean window so a refusal below is the account's own.
    time.sleep(31)
    listing = aio.run(f"runuser -u {BACKUP_USER} -- {ssh} {STORE_USER}@{address} ls /")
    assert listing.rc != 0 and "bin" not in listing.stdout.split()
    assert "rrsync error: SSH_ORIGINAL_COMMAND does not run rsync" in listing.stderr
    shell = aio.run(f"runuser -u {BACKUP_USER} -- {ssh} {STORE_USER}@{address} 'sh -c id'")
    assert shell.rc != 0 and "uid=" not in shell.stdout
    assert "rrsync error" in shell.stderr
    login = aio.run(f"runuser -u {BACKUP_USER} -- {ssh} {STORE_USER}@{address} < /dev/null")
    assert login.rc != 0 and "rrsync error" in login.stderr


def test_store_account_refuses_to_send_files_back(aio, store):
    address, ssh = ssh_as_backup(aio, store)
    pulled = aio.run(f"runuser -u {BACKUP_USER} -- rsync -a -e {shlex.quote(ssh)} "
                     f"{STORE_USER}@{address}:backup-aio/ /tmp/pulled-from-store/")
    assert pulled.rc != 0
    assert "reading from write-only server is not allowed" in pulled.stderr
    assert aio.run("ls -A /tmp/pulled-from-store 2>/dev/null").stdout.strip() == ""


# --- Retention on a forged calendar (last: it prunes the real sets too) --------

def expected_kept(names):
    stamps = sorted(names, reverse=True)
    kept = set(stamps[:KEEP_LAST])
    for count, bucket in ((KEEP_DAILY, lambda t: t.date()),
                          (KEEP_WEEKLY, lambda t: t.isocalendar()[:2]),
                          (KEEP_MONTHLY, lambda t: (t.year, t.month))):
        seen = []
        for name in stamps:
            key = bucket(datetime.datetime.strptime(name, "%Y%m%dT%H%M%SZ"))
            if key not in seen and len(seen) < count:
                seen.append(key)
                kept.add(name)
    return kept


def test_retention_keeps_exactly_the_configured_counts(aio):
    time.sleep(31)  # the store's SSH rate limit again (the run pushes its set)
    source = latest_good(aio)
    first = datetime.datetime(2031, 1, 1, 3, 17)
    forged = [(first + datetime.timedelta(days=i)).strftime("%Y%m%dT%H%M%SZ") for i in range(120)]
    aio.check_output(f"cd {SETS} && for n in {' '.join(forged)}; do cp -al {source} $n; done")
    before = sets(aio)
    try:
        result = run_cron_job(aio, now="2031-05-01T03:17:00Z")
        assert result.rc == 0, result.stderr
        after = set(sets(aio))
        assert after == expected_kept(before + ["20310501T031700Z"])
        kept_2031 = sorted(n for n in after if n.startswith("2031"))
        assert kept_2031 == sorted(
            [f"2031{d}T031700Z" for d in ("0131", "0228", "0331", "0413", "0420")]
            + [f"2031{d}T031700Z" for d in ("0425", "0426", "0427", "0428", "0429", "0430", "0501")]
        )
        # One per day for the last 7 days, each of the last 4 weeks, each of the last 6 months.
        assert len({n[:8] for n in after}) >= KEEP_DAILY
        assert len({n[:6] for n in after}) == KEEP_MONTHLY
    finally:
        aio.check_output(f"rm -rf {SETS}/2031*")
