"""The base system (role common), observed from inside each test host."""

import glob
import os

import pytest
from estate import APP

APP_USER = APP  # app_user is app_name


def test_app_user_exists_without_login_shell(host):
    user = host.user(APP_USER)
    assert user.exists
    assert user.shell in ("/usr/sbin/nologin", "/bin/false")
    assert user.home == f"/srv/{APP_USER}"
    # A locked account: no usable password, so no interactive login at all.
    shadow = host.run(f"getent shadow {APP_USER}").stdout.split(":")
    assert shadow[1].startswith("!")
    # Even root's `su -` lands in nologin, which refuses.
    login = host.run(f"su - {APP_USER} -c true </dev/null")
    assert login.rc != 0, "the application account must not get a login shell"


def test_journal_is_persistent_and_capped(host):
    journal_dir = host.file("/var/log/journal")
    assert journal_dir.is_directory
    header = host.run("journalctl --header --system")
    assert header.rc == 0
    assert "File path: /var/log/journal/" in header.stdout
    config = host.run("systemd-analyze cat-config systemd/journald.conf").stdout
    assert "Storage=persistent" in config
    assert "SystemMaxUse=" in config


def test_unattended_security_upgrades_enabled(host):
    dump = host.run("apt-config dump APT::Periodic").stdout
    assert 'APT::Periodic::Unattended-Upgrade "1";' in dump
    assert 'APT::Periodic::Update-Package-Lists "1";' in dump
    timer = host.service("apt-daily-upgrade.timer")
    assert timer.is_enabled
    assert timer.is_running
    # unattended-upgrade itself parses the config and names what it will take.
    dry = host.run("unattended-upgrade --dry-run --debug 2>&1 | grep -m1 'Allowed origins are'")
    assert "-security" in dry.stdout, dry.stdout


def test_time_sync_daemon_active(host):
    chrony = host.service("chrony")
    assert chrony.is_enabled
    assert chrony.is_running
    # The daemon answers its control socket.
    assert host.run("chronyc -n tracking").rc == 0
    assert host.run("timedatectl show -p Timezone --value").stdout.strip() == "Etc/UTC"


def test_pip_trusts_the_system_ca_store(host):
    # A fresh venv's pip reaches PyPI over HTTPS: behind a TLS-intercepting
    # proxy this only works when the proxy's CA is trusted through pip.conf.
    result = host.run(
        "rm -rf /root/catest && python3 -m venv /root/catest && "
        "/root/catest/bin/pip download --no-deps --quiet -d /root/catest/dl six"
    )
    assert result.rc == 0, result.stderr
    assert host.file("/etc/pip.conf").contains("^cert = /etc/ssl/certs/ca-certificates.crt")


@pytest.mark.parametrize("ca_file", sorted(glob.glob("/usr/local/share/ca-certificates/*.crt")))
def test_controller_extra_ca_is_in_the_host_store(host, ca_file):
    name = "ansible-test-" + os.path.basename(ca_file)
    installed = host.file(f"/usr/local/share/ca-certificates/{name}")
    assert installed.exists
    with open(ca_file, encoding="ascii") as handle:
        first_line = handle.read().strip().splitlines()[1]
    # update-ca-certificates has folded it into the bundle everyone reads.
    assert host.file("/etc/ssl/certs/ca-certificates.crt").contains(first_line)
