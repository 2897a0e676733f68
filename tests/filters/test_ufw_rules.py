"""Unit tests of roles/ufw/filter_plugins/ufw_rules.py: the rules a host
gets from the inventory, and the comparison with what UFW reports."""

import importlib.util
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[2] / "roles/ufw/filter_plugins/ufw_rules.py"
_spec = importlib.util.spec_from_file_location("ufw_rules", _PATH)
ufw = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ufw)

SHOW_ADDED = """Added user rules (see 'ufw status' for running firewall):
ufw limit 22/tcp comment 'ssh'
ufw allow 80/tcp comment 'http'
ufw allow from 10.0.0.5 to any port 5432 proto tcp comment 'postgresql'
ufw allow from 10.0.0.9 to any port 5432 proto tcp comment 'postgresql'
ufw allow from 192.0.2.1 to any port 9999 proto udp
""".splitlines()

SERVICES = [
    {"name": "http", "port": 80, "served_by": ["web"], "world": True},
    {"name": "postgresql", "port": "5432", "served_by": ["db"], "from": ["app", "worker"], "sources": ["10.9.0.0/24"]},
    {"name": "redis", "port": 6379, "served_by": ["redis"], "from": ["app"]},
]
GROUPS = {"web": ["web1"], "db": ["db1"], "app": ["app1", "app2", "db1"], "worker": ["app1", "w1"], "redis": []}
HOSTVARS = {"web1": {"estate_address": "10.0.0.1"}, "db1": {"estate_address": "10.0.0.2"},
            "app1": {"estate_address": "10.0.0.5"}, "app2": {"estate_address": "10.0.0.6"},
            "w1": {"estate_address": "10.0.0.7"}}


def rules_of(host, group_names):
    return ufw.ufw_service_rules(SERVICES, host, group_names, GROUPS, HOSTVARS)


def test_line_matches_what_ufw_show_added_prints():
    held = ufw.ufw_added_rules(SHOW_ADDED)
    assert [ufw.ufw_line(r) for r in held] == SHOW_ADDED[1:]


def test_parse_skips_header_and_reads_sources_ports_comments():
    held = ufw.ufw_added_rules(SHOW_ADDED)
    assert held[0] == {"rule": "limit", "port": "22", "proto": "tcp", "from": "any", "name": "ssh"}
    assert held[2]["from"] == "10.0.0.5" and held[2]["name"] == "postgresql"
    assert held[4] == {"rule": "allow", "port": "9999", "proto": "udp", "from": "192.0.2.1", "name": ""}


def test_db_host_admits_each_other_client_once_plus_literal_sources():
    rules = rules_of("db1", ["db", "app"])
    assert [(r["from"], r["port"], r["name"]) for r in rules] == [
        ("10.0.0.5", "5432", "postgresql"), ("10.0.0.6", "5432", "postgresql"),
        ("10.0.0.7", "5432", "postgresql"), ("10.9.0.0/24", "5432", "postgresql"),
    ]


def test_world_service_is_one_rule_from_anywhere_and_unserved_services_give_none():
    assert rules_of("web1", ["web"]) == [{"rule": "allow", "port": "80", "proto": "tcp", "from": "any", "name": "http"}]
    assert rules_of("w1", ["worker"]) == []


def test_missing_lists_only_rules_ufw_lacks():
    wanted = rules_of("db1", ["db"])
    missing = ufw.ufw_missing(wanted, SHOW_ADDED)
    assert [r["from"] for r in missing] == ["10.0.0.6", "10.0.0.7", "10.9.0.0/24"]
    assert ufw.ufw_missing(ufw.ufw_ssh_rules([], "limit", 22), SHOW_ADDED) == []
    assert ufw.ufw_missing(ufw.ufw_ssh_rules([], "allow", 22), SHOW_ADDED) != []


def test_stale_names_service_rules_not_wanted_and_leaves_others_alone():
    wanted = [r for r in rules_of("db1", ["db"]) if r["from"] != "10.0.0.9"]
    stale = ufw.ufw_stale(SHOW_ADDED, wanted, ["http", "postgresql", "redis"])
    assert [(r["from"], r["port"]) for r in stale] == [("any", "80"), ("10.0.0.9", "5432")]
    # The SSH rule and the uncommented rule are not the role's to delete.
    assert all(r["name"] in ("http", "postgresql") for r in stale)


def test_source_hosts_are_the_other_hosts_of_the_from_groups():
    assert ufw.ufw_source_hosts(SERVICES, "db1", ["db"], GROUPS) == ["app1", "app2", "w1"]
    assert ufw.ufw_source_hosts(SERVICES, "web1", ["web"], GROUPS) == []


@pytest.mark.parametrize("stdout, expected", [
    ("Status: active\nLogging: on (low)\nDefault: deny (incoming)", {"active": True, "logging": "low"}),
    ("Status: active\nLogging: on (medium)\n", {"active": True, "logging": "medium"}),
    ("Status: active\nLogging: off\n", {"active": True, "logging": "off"}),
    ("Status: inactive\n", {"active": False, "logging": None}),
    ("", {"active": False, "logging": None}),
])
def test_status_reads_active_and_logging(stdout, expected):
    assert ufw.ufw_status(stdout) == expected


def test_log_level_on_means_low():
    assert ufw.ufw_log_level("on") == "low"
    assert ufw.ufw_log_level("high") == "high"
