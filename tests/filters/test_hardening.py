"""Unit tests of roles/hardening/filter_plugins/hardening.py."""

import importlib.util
from pathlib import Path

_PATH = Path(__file__).resolve().parents[2] / "roles/hardening/filter_plugins/hardening.py"
_spec = importlib.util.spec_from_file_location("hardening", _PATH)
hardening = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(hardening)

UPGRADABLE = """Listing...
libssl3t64/stable-security 3.5.10-1~deb13u1 amd64 [upgradable from: 3.5.9-1~deb13u1]
tzdata/stable-updates 2026a-0+deb13u1 all [upgradable from: 2025b-4]
openssl/stable-security,stable-updates 3.5.10-1~deb13u1 amd64 [upgradable from: 3.5.9-1~deb13u1]
login.defs/bookworm-security 1:4.13+dfsg1-1+deb12u2 all [upgradable from: 1:4.13+dfsg1-1+deb12u1]
securityfake/stable 1.0 all [upgradable from: 0.9]
""".splitlines()


def test_only_updates_from_a_security_suite_are_listed():
    assert hardening.apt_security_upgrades(UPGRADABLE) == ["libssl3t64", "login.defs", "openssl"]


def test_no_upgradable_package_lists_none():
    assert hardening.apt_security_upgrades(["Listing..."]) == []
    assert hardening.apt_security_upgrades(None) == []


def test_a_setting_whose_running_value_differs_is_listed():
    lines = ["net.ipv4.tcp_syncookies = 0", "kernel.kptr_restrict = 2"]
    wanted = {"net.ipv4.tcp_syncookies": 1, "kernel.kptr_restrict": 2}
    assert hardening.sysctl_differing(lines, wanted) == {"net.ipv4.tcp_syncookies": 1}


def test_a_setting_the_kernel_lacks_does_not_differ():
    assert hardening.sysctl_differing([], {"kernel.unprivileged_bpf_disabled": 1}) == {}


def test_multi_value_settings_compare_by_words():
    lines = ["net.ipv4.tcp_rmem = 4096\t131072\t6291456"]
    assert hardening.sysctl_differing(lines, {"net.ipv4.tcp_rmem": "4096 131072 6291456"}) == {}
    assert hardening.sysctl_differing(lines, {"net.ipv4.tcp_rmem": "4096 87380 6291456"}) != {}
