"""Unit tests of roles/preflight/filter_plugins/preflight_inputs.py: which
values each kind accepts and rejects, and what the messages say."""

import importlib.util
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[2] / "roles/preflight/filter_plugins/preflight_inputs.py"
_spec = importlib.util.spec_from_file_location("preflight_inputs", _PATH)
inputs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(inputs)

GOOD = {
    "port": [1, 443, "8000", 65535],
    "hostname": ["example.com", "www.example.com", "localhost", "a-b.example", "example.com."],
    "host": ["example.com", "127.0.0.1", "::1", "2001:db8::1"],
    "ip": ["10.0.0.1", "::1"],
    "network": ["10.0.0.0/8", "10.0.0.1", "2001:db8::/32", "172.16.0.0/12"],
    "systemd_ip": ["localhost", "any", "10.0.0.0/24", "192.0.2.7"],
    "email": ["ops@example.com", "first.last+tag@mail.example.org"],
    "path": ["/srv/wallet", "/srv/wallet/shared/media"],
    "name": ["wallet", "my_app", "app-2"],
    "clock": ["04:00", "23:59"],
    "systemd_time": ["1month", "2weeks", "90s", "12h", "1w 2d"],
    "systemd_size": ["1G", "500M", "1024"],
    "nginx_size": ["21m", "1024", "8k"],
    "nginx_time": ["65s", "1d", "1h30m", "500ms"],
    "nginx_rate": ["10r/s", "30r/m"],
    "batch": [1, "2", "25%", "100%"],
    "fraction": [0, 1, 0.25, "0.5", 1.0],
}
BAD = {
    "port": [0, 70000, -1, "http", "80a", True, 8000.5],
    "hostname": ["my site.example", "https://example.com", "-bad.example", "example.com:8443",
                 "ex_ample.com", "a" * 64 + ".example", "", "1.2.3.4"],
    "host": ["999.1.1.1", "bad name", "http://1.2.3.4"],
    "ip": ["10.0.0.256", "example.com", "10.0.0.0/8"],
    "network": ["10.0.0.0/33", "office", "10.0.0.1/24/1", "all"],
    "systemd_ip": ["everywhere", "10.0.0.0/40"],
    "email": ["ops", "ops@", "@example.com", "ops@localhost", "two@at@example.com", "o ps@example.com"],
    "path": ["srv/wallet", "/srv/my app", "/srv/../etc", ""],
    "name": ["Wallet", "1app", "my app", "a" * 33, "wallet;rm"],
    "clock": ["4am", "24:00", "04:60"],
    "systemd_time": ["a month", "forever", "-1d"],
    "systemd_size": ["1GB", "lots", "-5M"],
    "nginx_size": ["21 MB", "big"],
    "nginx_time": ["65 seconds", "soon"],
    "nginx_rate": ["10/s", "10r/h", "fast"],
    "batch": [0, "0", "all-at-once", "-1", "25 %", True],
    "fraction": [1.5, -0.1, "half", True, None],
}


def errors(check, value):
    return inputs.preflight_input_errors([check], {check["name"]: value})


@pytest.mark.parametrize("kind,value", [(k, v) for k, vs in GOOD.items() for v in vs])
def test_good_values_pass(kind, value):
    assert errors({"name": "x", "kind": kind}, value) == []


@pytest.mark.parametrize("kind,value", [(k, v) for k, vs in BAD.items() for v in vs])
def test_bad_values_fail_with_the_name_and_the_value(kind, value):
    found = errors({"name": "some_var", "kind": kind, "required": True}, value)
    assert len(found) == 1, found
    assert found[0].startswith("some_var ")
    if value not in ("", None):
        assert repr(value) in found[0]


@pytest.mark.parametrize("value,ok", [(1, True), (0, False), (-3, False), ("four", False), ("4", True), (300, False)])
def test_integers_honour_min_and_max(value, ok):
    found = errors({"name": "workers", "kind": "int", "min": 1, "max": 256}, value)
    assert (found == []) is ok, found


@pytest.mark.parametrize("value,ok", [("3", True), ("*/6", True), ("1-5", True), ("1,13", True),
                                      ("24", False), ("5-1", False), ("*/0", False), ("x", False), (True, False)])
def test_cron_fields(value, ok):
    assert (errors({"name": "hour", "kind": "cron", "min": 0, "max": 23}, value) == []) is ok


def test_choices():
    check = {"name": "web_tls_mode", "kind": "choice", "choices": ["letsencrypt", "selfsigned"]}
    assert errors(check, "selfsigned") == []
    assert "letsencrypt, selfsigned" in errors(check, "self-signed")[0]


def test_booleans_must_be_yaml_booleans():
    assert errors({"name": "flag", "kind": "bool"}, True) == []
    assert "true or false" in errors({"name": "flag", "kind": "bool"}, "yes")[0]


def test_urls_check_the_scheme_and_the_host():
    check = {"name": "u", "kind": "url", "schemes": ["https"]}
    assert errors(check, "https://acme.example/directory") == []
    assert errors(check, "https://localhost:14000/dir") == []
    assert "https://" in errors(check, "http://acme.example/directory")[0]
    assert errors(check, "https://") != []
    assert errors(check, "https://bad host/") != []
    assert errors(check, "acme.example") != []


def test_list_items_are_checked_one_by_one_with_their_index():
    check = {"name": "web_admin_allow", "kind": "list", "elements": "network"}
    assert errors(check, ["127.0.0.1", "10.0.0.0/8"]) == []
    found = errors(check, ["127.0.0.1", "office-vpn", "10.0.0.0/99"])
    assert [f.split(" ")[0] for f in found] == ["web_admin_allow[1]", "web_admin_allow[2]"]
    assert "must be a list" in errors(check, "10.0.0.0/8")[0]


def test_server_names_say_what_is_wrong():
    check = {"name": "app_server_names", "kind": "list", "elements": "host"}
    assert "spaces" in errors(check, ["www.example.com example.com"])[0]
    assert "scheme" in errors(check, ["https://example.com"])[0]


def test_unset_values_are_skipped_unless_required():
    assert inputs.preflight_input_errors([{"name": "x", "kind": "port"}], {}) == []
    assert "x must be set" in inputs.preflight_input_errors([{"name": "x", "kind": "port", "required": True}], {})[0]
    check = {"name": "url", "kind": "url", "required_if": {"mode": "acme"}}
    assert inputs.preflight_input_errors([check], {"mode": "selfsigned"}) == []
    found = inputs.preflight_input_errors([check], {"mode": "acme", "url": ""})
    assert "because mode is acme" in found[0]


def test_unknown_kind_is_a_programming_error():
    with pytest.raises(ValueError):
        errors({"name": "x", "kind": "colour"}, "red")


def test_messages_name_the_file_that_sets_the_value(tmp_path):
    inventory = tmp_path / "inventory" / "prod"
    (inventory / "group_vars" / "prod").mkdir(parents=True)
    (inventory / "group_vars" / "prod" / "vars.yml").write_text("---\napp_gunicorn_port: 70000\n")
    (inventory / "group_vars" / "prod" / "vault.yml").write_text("$ANSIBLE_VAULT;1.1;AES256\n3133\n")
    estate = tmp_path / "group_vars"
    (estate / "all").mkdir(parents=True)
    (estate / "all" / "main.yml").write_text("app_node_api_port: 3001\nweb_https_port: 443\n")
    roots = [str(inventory), str(estate)]
    found = inputs.preflight_input_errors(
        [{"name": "app_gunicorn_port", "kind": "port"}], {"app_gunicorn_port": 70000}, roots)
    assert found[0].endswith("inventory/prod/group_vars/prod/vars.yml).")
    found = inputs.preflight_input_errors(
        [{"name": "web_https_port", "kind": "port"}], {"web_https_port": 0}, roots)
    assert "group_vars/all/main.yml" in found[0]


PORTS = [
    {"label": "Nginx (HTTPS)", "port": 443, "served_by": ["web"]},
    {"name": "app_gunicorn_port", "served_by": ["app"]},
    {"name": "app_node_api_port", "served_by": ["node"]},
    {"name": "ufw_ssh_port", "served_by": ["all"]},
]


def test_two_services_on_one_port_of_a_host_clash():
    values = {"app_gunicorn_port": 8000, "app_node_api_port": 8000, "ufw_ssh_port": 22}
    found = inputs.preflight_port_clashes(PORTS, values, ["app", "node"])
    assert len(found) == 1 and "app_node_api_port and app_gunicorn_port both use port 8000" in found[0]
    # On separate hosts they do not clash.
    assert inputs.preflight_port_clashes(PORTS, values, ["app"]) == []
    assert inputs.preflight_port_clashes(PORTS, values, ["node"]) == []


def test_a_port_taken_by_nginx_or_ssh_clashes():
    found = inputs.preflight_port_clashes(PORTS, {"app_gunicorn_port": "443"}, ["web", "app"])
    assert "app_gunicorn_port and Nginx (HTTPS) both use port 443" in found[0]
    found = inputs.preflight_port_clashes(PORTS, {"app_node_api_port": 22, "ufw_ssh_port": 22}, ["node"])
    assert len(found) == 1
