"""The data tier and the firewall seen from the host itself: PostgreSQL,
Redis (roles postgresql, redis) and UFW (role ufw). Run in every scenario;
each test applies to the hosts of the group that runs the service."""

import os
import re
import sys
import time

import pytest

# Also run from the data scenario through a link: the library sits beside the real file.
sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import estate  # noqa: E402
from estate import APP  # noqa: E402  (app_name, app_db_name, app_db_user and app_redis_user)

DB_PORT = 5432
REDIS_PORT = 6379
CLIENT_GROUPS = {"app", "worker", "scheduler", "node"}


@pytest.fixture(scope="module")
def secrets():
    return estate.secrets()


@pytest.fixture
def inventory(host):
    return host.ansible.get_variables()


def in_group(inventory, group):
    return group in inventory.get("group_names", [])


@pytest.fixture
def db_host(host, inventory):
    if not in_group(inventory, "db"):
        pytest.skip("not a db host")
    return host


@pytest.fixture
def redis_host(host, inventory):
    if not in_group(inventory, "redis"):
        pytest.skip("not a redis host")
    return host


def psql(host, sql, password, user=APP, address="127.0.0.1", database=APP):
    return host.run(
        "PGPASSWORD=%s PGCONNECT_TIMEOUT=5 psql -XAt -h %s -p %s -U %s -d %s -c %s",
        password, address, str(DB_PORT), user, database, sql,
    )


def redis_cli(host, *args, user=APP, password=None):
    auth = ["--user", user, "--pass", password, "--no-auth-warning"] if password else []
    return host.run_expect([0, 1], " ".join(["redis-cli", "-h", "127.0.0.1", "-p", str(REDIS_PORT)] + auth + ["%s"] * len(args)), *args)


def memtotal_mb(host):
    return host.ansible("setup", "filter=ansible_memtotal_mb")["ansible_facts"]["ansible_memtotal_mb"]


# --- PostgreSQL ------------------------------------------------------------------

def test_postgresql_app_role_connects_over_tcp_with_its_password(db_host, secrets):
    result = psql(db_host, "SELECT current_user || ' ' || current_database()", secrets["vault_app_db_password"])
    assert result.rc == 0, result.stderr
    assert result.stdout.strip() == f"{APP} {APP}"


def test_postgresql_refuses_a_wrong_password(db_host, secrets):
    result = psql(db_host, "SELECT 1", secrets["vault_app_db_password"] + "x")
    assert result.rc != 0
    assert "password authentication failed" in result.stderr


def test_postgresql_refuses_an_unknown_role(db_host, secrets):
    result = psql(db_host, "SELECT 1", secrets["vault_app_db_password"], user="intruder")
    assert result.rc != 0
    assert "pg_hba.conf rejects connection" in result.stderr or "no pg_hba.conf entry" in result.stderr, result.stderr


def test_postgresql_refuses_the_app_role_on_another_database(db_host, secrets):
    result = psql(db_host, "SELECT 1", secrets["vault_app_db_password"], database="postgres")
    assert result.rc != 0
    assert "pg_hba.conf rejects connection" in result.stderr or "no pg_hba.conf entry" in result.stderr, result.stderr


def test_postgresql_stores_passwords_with_scram(db_host, secrets):
    assert psql(db_host, "SHOW password_encryption", secrets["vault_app_db_password"]).stdout.strip() == "scram-sha-256"
    stored = db_host.check_output("runuser -u postgres -- psql -XAt -c \"SELECT rolpassword FROM pg_authid WHERE rolname = '%s'\"" % APP)
    assert stored.startswith("SCRAM-SHA-256$")


def test_postgresql_memory_settings_follow_the_host(db_host, secrets):
    memory = memtotal_mb(db_host)
    rows = psql(db_host, "SELECT name, setting, unit FROM pg_settings WHERE name IN "
                "('shared_buffers', 'effective_cache_size', 'maintenance_work_mem') ORDER BY name",
                secrets["vault_app_db_password"]).stdout.split()
    settings = {}
    for row in rows:
        name, setting, unit = row.split("|")
        settings[name] = int(setting) * (8 if unit == "8kB" else 1) // 1024  # MiB
    assert settings["shared_buffers"] == int(memory * 0.25)
    assert settings["effective_cache_size"] == int(memory * 0.75)
    assert settings["maintenance_work_mem"] == min(max(memory // 16, 64), 2048)
    # SHOW answers in the server's own units, the same amount.
    shown = psql(db_host, "SHOW shared_buffers", secrets["vault_app_db_password"]).stdout.strip()
    amount, unit = re.match(r"(\d+)(MB|GB)$", shown).groups()
    assert int(amount) * (1024 if unit == "GB" else 1) == int(memory * 0.25)


def test_postgresql_listens_only_where_clients_are(db_host, inventory):
    listening = {s.split(":")[0].strip("[]") for s in
                 db_host.check_output(f"ss -Hltn 'sport = :{DB_PORT}' | awk '{{print $4}}'").split()}
    remote_clients = any(
        h != inventory["inventory_hostname"]
        for g in CLIENT_GROUPS | {"backup"}
        for h in inventory.get("groups", {}).get(g, [])
    )
    assert "127.0.0.1" in listening
    assert "0.0.0.0" not in listening and "*" not in listening
    if not remote_clients:
        assert listening == {"127.0.0.1"}


def test_postgresql_reader_role_can_read_but_not_write(db_host):
    run = "runuser -u postgres -- psql -XAt -d %s -c %s"
    # Created by the owner after the role ran: readable through default privileges.
    db_host.check_output(run, APP, f"SET ROLE {APP}; CREATE TABLE IF NOT EXISTS probe_ro (id int)")
    try:
        read = db_host.run(run, APP, f"SET ROLE {APP}_reader; SELECT count(*) FROM probe_ro")
        assert read.rc == 0, read.stderr
        write = db_host.run(run, APP, f"SET ROLE {APP}_reader; INSERT INTO probe_ro VALUES (1)")
        assert write.rc != 0 and "permission denied" in write.stderr
    finally:
        db_host.run(run, APP, "DROP TABLE IF EXISTS probe_ro")


# --- Redis -------------------------------------------------------------------

def test_redis_refuses_unauthenticated_clients(redis_host):
    assert redis_cli(redis_host, "PING").stdout.strip().startswith("NOAUTH")


def test_redis_default_user_is_disabled(redis_host):
    result = redis_cli(redis_host, "PING", user="default", password="anything")
    assert "PONG" not in result.stdout
    assert "WRONGPASS" in result.stdout + result.stderr


def test_redis_app_user_can_queue_and_read_its_keys(redis_host, secrets):
    password = secrets["vault_app_redis_password"]
    queue, processing = f"{APP}:payouts:probe", f"{APP}:payouts:probe:processing"
    redis_cli(redis_host, "DEL", queue, processing, password=password)
    assert redis_cli(redis_host, "LPUSH", queue, '{"id": 1}', password=password).stdout.strip() == "1"
    moved = redis_cli(redis_host, "BLMOVE", queue, processing, "RIGHT", "LEFT", "1", password=password)
    assert moved.stdout.strip() == '{"id": 1}'
    assert redis_cli(redis_host, "LRANGE", processing, "0", "-1", password=password).stdout.strip() == '{"id": 1}'
    # Celery's queue and result keys.
    assert redis_cli(redis_host, "LPUSH", "celery", "task", password=password).stdout.strip().isdigit()
    assert redis_cli(redis_host, "SET", "celery-task-meta-probe", "{}", "EX", "60", password=password).stdout.strip() == "OK"
    redis_cli(redis_host, "DEL", queue, processing, "celery", "celery-task-meta-probe", password=password)


@pytest.mark.parametrize("command", [["FLUSHALL"], ["FLUSHDB"], ["CONFIG", "GET", "maxmemory"], ["KEYS", "*"], ["DEBUG", "SLEEP", "0"]])
def test_redis_app_user_cannot_run_admin_commands(redis_host, secrets, command):
    result = redis_cli(redis_host, *command, password=secrets["vault_app_redis_password"])
    output = result.stdout + result.stderr
    # DEBUG is also switched off server-wide (enable-debug-command no), which
    # Redis checks before the ACL.
    assert "NOPERM" in output or (command[0] == "DEBUG" and "DEBUG command not allowed" in output), output


def test_redis_app_user_cannot_touch_other_keys(redis_host, secrets):
    result = redis_cli(redis_host, "SET", "someone-else:key", "x", password=secrets["vault_app_redis_password"])
    assert "NOPERM" in result.stdout + result.stderr


def test_redis_broker_data_survives_a_restart(redis_host, secrets):
    password = secrets["vault_app_redis_password"]
    key = f"{APP}:restart-probe"
    redis_cli(redis_host, "DEL", key, password=password)
    redis_cli(redis_host, "RPUSH", key, "a", "b", "c", password=password)
    redis_host.check_output("systemctl restart redis-server")
    for _ in range(50):
        if "PONG" in redis_cli(redis_host, "PING", password=password).stdout:
            break
        time.sleep(0.2)
    assert redis_cli(redis_host, "LRANGE", key, "0", "-1", password=password).stdout.split() == ["a", "b", "c"]
    redis_cli(redis_host, "DEL", key, password=password)


def test_redis_is_configured_as_a_broker(redis_host):
    config = redis_host.file("/etc/redis/redis.conf")
    assert config.contains("^maxmemory-policy noeviction$")
    assert config.contains("^appendonly yes$")
    assert config.contains("^protected-mode yes$")
    assert config.mode == 0o640
    assert redis_host.file("/var/lib/redis/appendonlydir").is_directory


def test_redis_listens_only_where_clients_are(redis_host, inventory):
    listening = {s.rsplit(":", 1)[0].strip("[]") for s in
                 redis_host.check_output(f"ss -Hltn 'sport = :{REDIS_PORT}' | awk '{{print $4}}'").split()}
    remote_clients = any(
        h != inventory["inventory_hostname"] for g in CLIENT_GROUPS for h in inventory.get("groups", {}).get(g, [])
    )
    assert "127.0.0.1" in listening
    assert "0.0.0.0" not in listening and "*" not in listening
    if not remote_clients:
        assert listening <= {"127.0.0.1", "::1"}


def test_redis_unit_keeps_its_hardening(redis_host):
    show = redis_host.check_output("systemctl show redis-server -p ProtectProc -p ProtectSystem -p NoNewPrivileges -p PrivateUsers -p ActiveState")
    props = dict(line.split("=", 1) for line in show.splitlines())
    assert props["ActiveState"] == "active"
    assert props["ProtectProc"] == "invisible"
    assert props["ProtectSystem"] == "strict"
    assert props["NoNewPrivileges"] == "yes"
    virt = redis_host.run("systemd-detect-virt --container").stdout.strip()
    # Only a container gives up the user namespace (217/USER otherwise).
    assert props["PrivateUsers"] == ("no" if virt not in ("", "none") else "yes")


# --- Firewall ---------------------------------------------------------------------

def ufw_status(host):
    return host.check_output("ufw status verbose")


def test_firewall_is_active_and_denies_by_default(host):
    status = ufw_status(host)
    assert "Status: active" in status
    assert "Default: deny (incoming), allow (outgoing)" in status
    assert "Logging: on (low)" in status
    assert host.file("/etc/default/ufw").contains("^IPV6=yes$")


def test_firewall_rate_limits_ssh_from_anywhere(host):
    status = ufw_status(host)
    assert re.search(r"^22/tcp\s+LIMIT IN\s+Anywhere\s", status, re.M), status
    assert re.search(r"^22/tcp \(v6\)\s+LIMIT IN\s+Anywhere \(v6\)", status, re.M), status


def test_firewall_never_opens_internal_services_to_the_world(host):
    for line in ufw_status(host).splitlines():
        if re.search(r"Anywhere", line.split("IN", 1)[-1]):
            port = line.split("/")[0].split()[0]
            assert port in ("22", "80", "443"), line


def test_firewall_opens_web_ports_only_on_web_hosts(host, inventory):
    status = ufw_status(host)
    web = in_group(inventory, "web")
    for port in ("80", "443"):
        opened = re.search(rf"^{port}/tcp\s+ALLOW IN\s+Anywhere\s", status, re.M) is not None
        assert opened == web, status
