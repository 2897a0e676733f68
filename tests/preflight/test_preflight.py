"""Bad input fails in preflight, with a message naming what to fix, before any
host is changed.

Each case writes an inventory (a valid all-in-one estate plus one mistake),
runs the real site.yml against a sentinel container and checks three things a
user would see: the run fails, the message names the variable, and the host's
filesystem (`docker diff`) is exactly as it was.
"""

import copy
import os
import secrets
import subprocess
import uuid

import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
IMAGE = os.environ.get("PREFLIGHT_IMAGE", "localhost/debian-systemd:trixie")
GROUPS = ["web", "app", "worker", "scheduler", "node", "db", "redis", "db_replica"]


def valid_secrets():
    return {
        "vault_app_django_secret_key": secrets.token_urlsafe(64),
        "vault_app_db_password": secrets.token_urlsafe(24),
        "vault_app_redis_password": secrets.token_urlsafe(24),
        "vault_app_node_service_token": secrets.token_urlsafe(32),
        "vault_monitoring_scrape_password": secrets.token_urlsafe(24),
        "vault_monitoring_admin_password": secrets.token_urlsafe(24),
        "vault_monitoring_redis_password": secrets.token_urlsafe(24),
    }


VALID_VARS = {"app_server_names": ["app.example.test"]}


@pytest.fixture(scope="module")
def sentinel():
    """A container the estate points at; it must never be touched."""
    name = f"ddeploy-preflight-{uuid.uuid4().hex[:8]}"
    subprocess.run(
        ["docker", "run", "-d", "--name", name, IMAGE, "sleep", "infinity"],
        check=True, capture_output=True,
    )
    try:
        yield name
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)


def docker_diff(name):
    return subprocess.run(
        ["docker", "diff", name], check=True, capture_output=True, text=True
    ).stdout


def write_inventory(path, sentinel, group_hosts=None, extra_vars=None, drop_vars=(), vault=None):
    hosts = {h: {"ansible_connection": "community.docker.docker", "ansible_host": sentinel}
             for h in ("aio", "second")}
    group_hosts = group_hosts or {g: ["aio"] for g in GROUPS if g != "db_replica"}
    inventory = {
        "estate": {
            "hosts": {"aio": hosts["aio"], "second": hosts["second"]},
            "children": {g: {"hosts": {h: None for h in group_hosts.get(g, [])}}
                         for g in GROUPS + [g for g in group_hosts if g not in GROUPS]},
        }
    }
    # `second` belongs to no service group unless a case puts it there.
    variables = copy.deepcopy(VALID_VARS)
    variables.update(extra_vars or {})
    vault_vars = valid_secrets() if vault is None else vault
    for key in drop_vars:
        variables.pop(key, None)
        vault_vars.pop(key, None)
    gv = path / "group_vars" / "estate"
    gv.mkdir(parents=True)
    (path / "hosts.yml").write_text(yaml.safe_dump(inventory))
    (gv / "vars.yml").write_text(yaml.safe_dump(variables))
    (gv / "vault.yml").write_text(yaml.safe_dump(vault_vars))
    return path


def run_playbook(inventory, playbook="site.yml"):
    return subprocess.run(
        ["ansible-playbook", "-i", str(inventory), playbook],
        cwd=REPO, capture_output=True, text=True, timeout=300,
        env={**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0"},
    )


def assert_rejected(tmp_path, sentinel, expected, **inventory_args):
    inventory = write_inventory(tmp_path, sentinel, **inventory_args)
    before = docker_diff(sentinel)
    result = run_playbook(inventory)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert expected in " ".join(output.split()), output
    # Nothing ran past the preflight: no change reported, nothing written.
    assert "changed=1" not in output and "PLAY [Base system" not in output, output
    assert docker_diff(sentinel) == before
    return " ".join(output.split())


def test_valid_inventory_passes_preflight(tmp_path, sentinel):
    # The control case: without it every rejection below could be vacuous.
    inventory = write_inventory(tmp_path, sentinel)
    result = run_playbook(inventory, "playbooks/preflight.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_missing_secret_is_rejected(tmp_path, sentinel):
    assert_rejected(
        tmp_path, sentinel, "vault_app_db_password is not set",
        drop_vars=["vault_app_db_password"],
    )


PITR_GROUPS = {**{g: ["aio"] for g in GROUPS if g != "db_replica"}, "backup": ["second"]}
PITR_VARS = {"app_backup_pitr": True}


def test_pitr_passes_preflight_with_its_cipher_pass(tmp_path, sentinel):
    # The control case of the two below (valid_secrets() has no cipher pass:
    # with point-in-time recovery off, as above, none is needed).
    inventory = write_inventory(tmp_path, sentinel, group_hosts=PITR_GROUPS, extra_vars=PITR_VARS,
                                vault=valid_secrets() | {"vault_pgbackrest_cipher_pass": secrets.token_urlsafe(32)})
    result = run_playbook(inventory, "playbooks/preflight.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_pitr_without_cipher_pass_is_rejected(tmp_path, sentinel):
    assert_rejected(tmp_path, sentinel, "vault_pgbackrest_cipher_pass is not set",
                    group_hosts=PITR_GROUPS, extra_vars=PITR_VARS)


def test_pitr_with_a_short_cipher_pass_is_rejected(tmp_path, sentinel):
    assert_rejected(tmp_path, sentinel, "vault_pgbackrest_cipher_pass is too short",
                    group_hosts=PITR_GROUPS, extra_vars=PITR_VARS,
                    vault=valid_secrets() | {"vault_pgbackrest_cipher_pass": "short-pass"})


def test_placeholder_secret_is_rejected(tmp_path, sentinel):
    vault = valid_secrets() | {"vault_app_redis_password": "CHANGE_ME"}
    assert_rejected(
        tmp_path, sentinel, "vault_app_redis_password is not set (or still a placeholder)",
        vault=vault,
    )


def test_short_secret_key_is_rejected(tmp_path, sentinel):
    vault = valid_secrets() | {"vault_app_django_secret_key": secrets.token_urlsafe(20)}
    assert_rejected(tmp_path, sentinel, "vault_app_django_secret_key is too short", vault=vault)


def test_django_insecure_secret_key_is_rejected(tmp_path, sentinel):
    vault = valid_secrets() | {
        "vault_app_django_secret_key": "django-insecure-" + secrets.token_urlsafe(48)
    }
    assert_rejected(tmp_path, sentinel, "vault_app_django_secret_key looks insecure", vault=vault)


def test_low_entropy_secret_key_is_rejected(tmp_path, sentinel):
    vault = valid_secrets() | {"vault_app_django_secret_key": "abab" * 20}
    assert_rejected(tmp_path, sentinel, "vault_app_django_secret_key looks insecure", vault=vault)


def test_empty_allowed_hosts_is_rejected(tmp_path, sentinel):
    assert_rejected(
        tmp_path, sentinel, "app_server_names is empty",
        extra_vars={"app_server_names": []},
    )


def test_two_scheduler_hosts_are_rejected(tmp_path, sentinel):
    group_hosts = {g: ["aio"] for g in GROUPS} | {"scheduler": ["aio", "second"]}
    assert_rejected(
        tmp_path, sentinel, "'scheduler' must have exactly 1 host, it has 2",
        group_hosts=group_hosts,
    )


def test_no_scheduler_host_is_rejected(tmp_path, sentinel):
    group_hosts = {g: ["aio"] for g in GROUPS} | {"scheduler": []}
    assert_rejected(
        tmp_path, sentinel, "'scheduler' must have exactly 1 host, it has 0",
        group_hosts=group_hosts,
    )


def test_app_without_database_is_rejected(tmp_path, sentinel):
    group_hosts = {g: ["aio"] for g in GROUPS} | {"db": []}
    assert_rejected(
        tmp_path, sentinel, "Inventory group 'app' has hosts but db has none",
        group_hosts=group_hosts,
    )


# A standby (group db_replica): `second` streams from `aio`.
WITH_STANDBY = {g: ["aio"] for g in GROUPS if g != "db_replica"} | {"db_replica": ["second"]}


def test_valid_inventory_with_a_standby_passes_preflight(tmp_path, sentinel):
    # The control case of the standby cases below.
    vault = valid_secrets() | {"vault_postgresql_replication_password": secrets.token_urlsafe(24)}
    inventory = write_inventory(tmp_path, sentinel, group_hosts=WITH_STANDBY, vault=vault)
    result = run_playbook(inventory, "playbooks/preflight.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_standby_without_a_replication_password_is_rejected(tmp_path, sentinel):
    assert_rejected(
        tmp_path, sentinel, "vault_postgresql_replication_password is not set",
        group_hosts=WITH_STANDBY,
    )


def test_host_that_is_primary_and_standby_is_rejected(tmp_path, sentinel):
    vault = valid_secrets() | {"vault_postgresql_replication_password": secrets.token_urlsafe(24)}
    assert_rejected(
        tmp_path, sentinel, "aio is in both 'db_replica' and db",
        group_hosts=WITH_STANDBY | {"db_replica": ["aio", "second"]}, vault=vault,
    )


def test_two_primaries_with_standbys_are_rejected(tmp_path, sentinel):
    vault = valid_secrets() | {"vault_postgresql_replication_password": secrets.token_urlsafe(24)}
    assert_rejected(
        tmp_path, sentinel, "'db' must have exactly 1 host, it has 2",
        group_hosts=WITH_STANDBY | {"db": ["aio", "third"], "db_replica": ["second"]}, vault=vault,
    )


def test_more_synchronous_standbys_than_standbys_are_rejected(tmp_path, sentinel):
    vault = valid_secrets() | {"vault_postgresql_replication_password": secrets.token_urlsafe(24)}
    assert_rejected(
        tmp_path, sentinel, "app_db_synchronous_standbys",
        group_hosts=WITH_STANDBY, vault=vault, extra_vars={"app_db_synchronous_standbys": 2},
    )


def test_wrong_type_is_rejected_by_the_argument_spec(tmp_path, sentinel):
    assert_rejected(
        tmp_path, sentinel, "common_journald_compress",
        extra_vars={"common_journald_compress": "sometimes"},
    )


def test_user_without_name_is_rejected_by_the_argument_spec(tmp_path, sentinel):
    assert_rejected(
        tmp_path, sentinel, "missing required arguments: name",
        extra_vars={"common_users": [{"home": "/srv/nobody"}]},
    )


def test_bad_deploy_batch_size_is_rejected(tmp_path, sentinel):
    assert_rejected(
        tmp_path, sentinel, "app_deploy_serial must be a batch size",
        extra_vars={"app_deploy_serial": "all-at-once"},
    )


# One mistake each, in every category of input the preflight knows
# (roles/preflight/filter_plugins/preflight_inputs.py): (variable, bad value,
# what the message must say). Each must fail before any host changes and
# name the file that set it.
BAD_INPUTS = [
    # ports: range, and two services on one port of a host
    ("app_gunicorn_port", 70000, "app_gunicorn_port must be a TCP port: an integer from 1 to 65535; got 70000"),
    ("app_node_api_port", 0, "app_node_api_port must be a TCP port"),
    ("app_db_port", "postgres", "app_db_port must be a TCP port"),
    ("web_https_port", -443, "web_https_port must be a TCP port"),
    ("app_redis_port", 8000, "app_redis_port and app_gunicorn_port both use port 8000 on this host"),
    ("app_gunicorn_port", 443, "app_gunicorn_port and Nginx (HTTPS) both use port 443 on this host"),
    ("app_metrics_port", 8000, "app_metrics_port and app_gunicorn_port both use port 8000 on this host"),
    ("monitoring_redis_exporter_port", 9100,
     "monitoring_redis_exporter_port and monitoring_node_exporter_port both use port 9100 on this host"),
    ("monitoring_prometheus_port", "ui", "monitoring_prometheus_port must be a TCP port"),
    # host and domain names
    ("app_server_names", ["www.example.com example.com"], "app_server_names[0] must not contain spaces"),
    ("app_server_names", ["https://app.example.test"], "app_server_names[0] must be a bare host name, without a scheme"),
    ("app_server_names", ["app.example.test:8443"], "without a port or a path"),
    ("app_server_names", ["-app.example.test"], "app_server_names[0] must be a host name (RFC 1123"),
    ("app_server_names", ["app_1.example.test"], "app_server_names[0] must be a host name (RFC 1123"),
    # addresses and networks in allow lists
    ("web_admin_allow", ["127.0.0.1", "office-vpn"], "web_admin_allow[1] must be an IP address or a network in CIDR notation"),
    ("web_admin_allow", ["10.0.0.0/33"], "web_admin_allow[0] must be an IP address or a network"),
    ("web_trusted_proxies", ["192.0.2.300"], "web_trusted_proxies[0] must be an IP address or a network"),
    ("app_egress_allow", ["smtp.example.com"], "app_egress_allow[0] must be an IP address, a network in CIDR notation, or one of"),
    ("hardening_fail2ban_ignore_extra", ["office-vpn"], "hardening_fail2ban_ignore_extra[0] must be an IP address or a network"),
    ("web_admin_allow", "10.0.0.0/8", "web_admin_allow must be a list"),
    # positive integers
    ("app_gunicorn_workers", "four", "app_gunicorn_workers must be an integer from 1 to 256; got 'four'"),
    ("app_celery_concurrency", 0, "app_celery_concurrency must be an integer from 1 to 256"),
    ("backup_keep_last", -1, "backup_keep_last must be a positive integer; got -1"),
    ("backup_keep_daily", -7, "backup_keep_daily must be an integer of at least 0"),
    ("nginx_api_burst", "lots", "nginx_api_burst must be an integer of at least 0"),
    ("logs_retention_days", 0, "logs_retention_days must be an integer from 1 to 3650"),
    # shares (Sentry's sample rates)
    ("app_sentry_sample_rate", 1.5, "app_sentry_sample_rate must be a number from 0 to 1"),
    ("app_sentry_traces_sample_rate", "all", "app_sentry_traces_sample_rate must be a number from 0 to 1"),
    # enumerations and booleans
    ("web_tls_mode", "self-signed", "web_tls_mode must be one of: letsencrypt, provided, selfsigned"),
    ("web_flower_enabled", "maybe", "web_flower_enabled must be true or false"),
    ("app_deploy_strategy", "blue-green", "app_deploy_strategy must be one of: rolling, maintenance"),
    ("app_deploy_lock_host", "db9", "app_deploy_lock_host must be one of:"),
    ("application_source", "tarball", "application_source must be one of: local, git, artifact"),
    ("logs_min_severity", "verbose", "logs_min_severity must be one of: emerg, alert, crit, err"),
    ("application_artifact_path", "dist/1.0.0.tar.gz", "application_artifact_path must be an absolute path"),
    # durations, sizes, rates, schedules
    ("common_journald_max_retention_sec", "a month", "common_journald_max_retention_sec must be a systemd time span"),
    ("common_journald_system_max_use", "1GB", "common_journald_system_max_use must be a size"),
    ("nginx_client_max_body_size", "20 MB", "nginx_client_max_body_size must be an nginx size"),
    ("nginx_proxy_read_timeout", "a minute", "nginx_proxy_read_timeout must be an nginx time"),
    ("nginx_api_rate", "10/s", "nginx_api_rate must be a request rate"),
    ("backup_cron_hour", "25", "backup_cron_hour must be a cron field"),
    ("common_unattended_upgrades_reboot_time", "4am", "common_unattended_upgrades_reboot_time must be a time of day"),
    # e-mail addresses and URLs
    ("web_acme_email", "ops-at-example.com", "web_acme_email must be an e-mail address"),
    ("web_acme_directory_url", "http://acme.example/directory", "web_acme_directory_url must be a URL starting with https://"),
    ("web_acme_directory_url", "acme-v02.api.letsencrypt.org", "web_acme_directory_url must be a URL starting with https://"),
    ("common_apt_proxy", "cache:3142", "common_apt_proxy must be a URL starting with http:// or https://"),
    # names and paths
    ("app_name", "My Wallet", "app_name must be a system name"),
    ("app_home", "srv/wallet", "app_home must be an absolute path"),
]


@pytest.mark.parametrize("name,value,expected", BAD_INPUTS, ids=[f"{n}={v!r}" for n, v, _ in BAD_INPUTS])
def test_bad_input_is_rejected_naming_the_variable_value_and_file(tmp_path, sentinel, name, value, expected):
    # (app_redis_port=8000 clashes with Gunicorn's default port on the all-in-one host.)
    output = assert_rejected(tmp_path, sentinel, expected, extra_vars={name: value})
    assert "(set in " in output and "group_vars/estate/vars.yml)" in output, output


def test_required_input_cannot_be_emptied(tmp_path, sentinel):
    assert_rejected(tmp_path, sentinel, "web_tls_mode must be set: it is empty", extra_vars={"web_tls_mode": ""})


def test_artifact_source_needs_an_artifact(tmp_path, sentinel):
    assert_rejected(tmp_path, sentinel, "application_artifact_path must be set", extra_vars={"application_source": "artifact"})
