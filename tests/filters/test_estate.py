"""Unit tests of plugins/filter/estate.py: the estate's wiring derived from
the inventory (Nginx upstreams, PostgreSQL connection sizing, backup clients)."""

import importlib.util
from pathlib import Path

_PATH = Path(__file__).resolve().parents[2] / "plugins/filter/estate.py"
_spec = importlib.util.spec_from_file_location("estate", _PATH)
estate = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(estate)

SIZING = {"app_gunicorn_workers": 2, "app_gunicorn_threads": "4", "app_celery_concurrency": 3}
HOSTVARS = {
    "web1": {"estate_address": "10.0.0.1", **SIZING},
    "app1": {"estate_address": "10.0.0.5", **SIZING, "backup_ssh_public_key": "ssh-ed25519 AAA app1"},
    "app2": {"estate_address": "10.0.0.6", **SIZING, "app_gunicorn_workers": "3"},
    "db1": {"estate_address": "10.0.0.2", **SIZING, "backup_ssh_public_key": "ssh-ed25519 AAA db1"},
}


def test_upstreams_are_each_hosts_address_and_loopback_for_itself():
    assert estate.estate_upstreams(["app1", "app2"], HOSTVARS, "web1", 8000) == ["10.0.0.5:8000", "10.0.0.6:8000"]
    assert estate.estate_upstreams(["app1", "app2"], HOSTVARS, "app2", "8000") == ["10.0.0.5:8000", "127.0.0.1:8000"]
    assert estate.estate_upstreams([], HOSTVARS, "web1", 8000) == []


def test_db_connections_add_up_every_tier():
    groups = {"app": ["app1", "app2"], "worker": ["app1"], "scheduler": ["db1"]}
    # app1: 2*2*4, app2: 2*3*4, worker app1: 3, scheduler: 2
    assert estate.estate_db_connections(groups, HOSTVARS) == 16 + 24 + 3 + 2


def test_db_connections_of_an_estate_without_tiers_is_zero():
    assert estate.estate_db_connections({"db": ["db1"]}, HOSTVARS) == 0


def test_backup_clients_are_hosts_with_a_key_once_each():
    hosts = ["db1", "app1", "app2", "db1", "app1"]
    assert estate.estate_backup_clients(hosts, HOSTVARS) == [
        {"name": "db1", "public_key": "ssh-ed25519 AAA db1"},
        {"name": "app1", "public_key": "ssh-ed25519 AAA app1"},
    ]


def test_pgbackrest_pg_hosts_are_db_hosts_that_published_their_side_once_each():
    pg = {"backup_pgbackrest_pg_path": "/var/lib/postgresql/17/main", "backup_pgbackrest_pg_port": 5432,
          "backup_pgbackrest_pg_host_keys": ["ssh-ed25519 HOST"]}
    hostvars = {
        "db1": {"estate_address": "10.0.0.5", "backup_pgbackrest_pg_public_key": "ssh-ed25519 AAA db1", **pg},
        "db2": {"estate_address": "10.0.0.6"},
    }
    assert estate.estate_pgbackrest_pg_hosts(["db1", "db2", "db1"], hostvars) == [
        {"name": "db1", "address": "10.0.0.5", "port": 22, "path": "/var/lib/postgresql/17/main", "pg_port": 5432,
         "public_key": "ssh-ed25519 AAA db1", "host_keys": ["ssh-ed25519 HOST"]},
    ]


def _facts(release):
    return {"ansible_facts": {"distribution_major_version": release}}


def test_scrape_targets_cover_each_group_once_and_loopback_for_the_monitor():
    hostvars = {h: {**v, **_facts("13")} for h, v in HOSTVARS.items()}
    groups = {"all": ["web1", "app1", "db1"], "db": ["db1"], "redis": ["db1"]}
    exporters = [
        {"name": "node", "port": 9100, "groups": ["all"]},
        {"name": "postgres", "port": 9187, "groups": ["db", "redis"]},
        {"name": "nginx", "port": 9113, "groups": ["web"]},
    ]
    jobs = estate.estate_scrape_targets(exporters, groups, hostvars, "web1")
    assert jobs == [
        {"name": "node", "targets": [
            {"address": "127.0.0.1:9100", "host": "web1", "scheme": "https"},
            {"address": "10.0.0.5:9100", "host": "app1", "scheme": "https"},
            {"address": "10.0.0.2:9100", "host": "db1", "scheme": "https"},
        ]},
        {"name": "postgres", "targets": [{"address": "10.0.0.2:9187", "host": "db1", "scheme": "https"}]},
    ]


def test_scrape_targets_leave_out_loopback_only_exporters_of_other_hosts():
    hostvars = {"web1": {"estate_address": "10.0.0.1", **_facts("12")},
                "web2": {"estate_address": "10.0.0.3", **_facts("12")},
                "web3": {"estate_address": "10.0.0.4", **_facts("13")}}
    exporters = [{"name": "nginx", "port": 9113, "groups": ["web"], "secure_from_release": 13}]
    jobs = estate.estate_scrape_targets(exporters, {"web": ["web1", "web2", "web3"]}, hostvars, "web1")
    assert jobs == [{"name": "nginx", "targets": [
        {"address": "127.0.0.1:9113", "host": "web1", "scheme": "http"},
        {"address": "10.0.0.4:9113", "host": "web3", "scheme": "https"},
    ]}]
