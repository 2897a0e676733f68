"""Host hardening (role hardening), observed from outside: SSH logins from the
test machine, fail2ban's bans, the stock units' sandboxes, security updates."""

import os
import re
import subprocess
import time

import pytest
from estate import wait_for

OPERATOR = "operator"  # molecule/shared/group_vars/molecule/vars.yml
KEY = os.environ.get("TEST_OPERATOR_KEY", "")
BANTIME = 20  # hardening_fail2ban_bantime there
MAXRETRY = 3  # hardening_fail2ban_maxretry there
BANNER = "Authorised access only"

# The stock units the role sandboxes, and the exposure each must stay under.
SANDBOXED = ["cron.service", "chrony.service", "fail2ban.service", "rsyslog.service"]
STOCK_EXPOSURE_MAX = 5.0


@pytest.fixture(scope="module")
def address(host):
    out = host.run("ip -4 -o addr show dev eth0").stdout
    return re.search(r"inet (\S+)/", out).group(1)


@pytest.fixture(scope="module")
def key():
    if not KEY or not os.path.exists(KEY):
        pytest.fail("TEST_OPERATOR_KEY names no key: run the scenario through tools/test")
    return KEY


def ssh(address, user, *options, key=None, command="true", timeout=20):
    """One SSH login from the test machine, as a new user would try it."""
    argv = ["ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "ConnectTimeout=5", "-o", "IdentitiesOnly=yes", *options]
    if key:
        argv += ["-i", key]
    else:
        argv += ["-o", "PubkeyAuthentication=no"]
    return subprocess.run(argv + [f"{user}@{address}", command], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, check=False)


def test_operator_logs_in_with_a_key_and_sees_the_banner(address, key):
    result = ssh(address, OPERATOR, key=key, command="id -Gn")
    assert result.returncode == 0, result.stderr
    assert "sshusers" in result.stdout.split()
    assert BANNER in result.stderr


def test_password_login_is_not_offered(address):
    result = ssh(address, OPERATOR, "-o", "PreferredAuthentications=password,keyboard-interactive")
    assert result.returncode == 255
    assert "Permission denied (publickey)" in result.stderr, result.stderr


def refused_with_a_valid_key(host, address, key, user, setup, cleanup):
    """Log in as USER after SETUP (a shell command given the public key) put
    the key in its authorized_keys; CLEANUP runs whatever happened. True when
    sshd refused the key."""
    with open(key + ".pub", encoding="ascii") as handle:
        host.run(setup.format(public=handle.read().strip()))
    try:
        result = ssh(address, user, key=key)
    finally:
        host.run(cleanup)
    return result.returncode == 255 and "Permission denied" in result.stderr


def test_root_login_is_refused_even_with_a_valid_key(host, address, key):
    assert refused_with_a_valid_key(
        host, address, key, "root",
        "install -d -m 0700 /root/.ssh && cp -a /root/.ssh/authorized_keys /root/.ssh/ak.bak 2>/dev/null; "
        "echo '{public}' >> /root/.ssh/authorized_keys",
        "if [ -f /root/.ssh/ak.bak ]; then mv /root/.ssh/ak.bak /root/.ssh/authorized_keys; "
        "else rm -f /root/.ssh/authorized_keys; fi")


def test_account_outside_the_ssh_group_is_refused(host, address, key):
    assert refused_with_a_valid_key(
        host, address, key, "outsider",
        "useradd --create-home --shell /bin/bash outsider && install -d -m 0700 -o outsider ~outsider/.ssh && "
        "echo '{public}' > ~outsider/.ssh/authorized_keys && chown outsider ~outsider/.ssh/authorized_keys",
        "userdel --remove outsider")


def test_sshd_runs_with_the_hardened_settings(host):
    assert host.service("ssh").is_running
    effective = dict(line.split(" ", 1) for line in host.run("sshd -T").stdout.splitlines() if " " in line)
    for key_, want in {"passwordauthentication": "no", "permitrootlogin": "no", "kbdinteractiveauthentication": "no",
                       "allowgroups": "sshusers", "maxauthtries": "3", "x11forwarding": "no"}.items():
        assert effective.get(key_) == want, f"{key_}={effective.get(key_)!r}"


def exposure(host, unit):
    out = host.run(f"systemd-analyze security --no-pager {unit}").stdout
    return float(re.search(r"Overall exposure level for \S+: ([0-9.]+)", out).group(1))


def test_fail2ban_watches_ssh_and_nginx(host):
    # The all-in-one host is a web host: the Nginx jails joined once Nginx wrote its logs.
    jails = host.run("fail2ban-client status").stdout
    for jail in ("sshd", "recidive", "nginx-http-auth", "estate-login"):
        assert jail in jails, jails


def postgresql_unit(host):
    return host.run("systemctl list-units --no-legend --plain 'postgresql@*.service'").stdout.split()[0]


def test_stock_services_run_in_their_sandboxes(host):
    for unit in SANDBOXED + [postgresql_unit(host)]:
        assert host.service(unit).is_running, unit
        dropin = next(path for path in host.run(f"systemctl show -p DropInPaths --value {unit}").stdout.split()
                      if path.endswith("/hardening.conf"))
        assert exposure(host, unit) <= STOCK_EXPOSURE_MAX, unit
        # The score is the unit file's: the running process must have started
        # under it, after the drop-in was written.
        started = int(host.run(f"systemctl show -p ExecMainStartTimestamp --timestamp=unix --value {unit}")
                      .stdout.strip().lstrip("@"))
        assert started >= int(float(host.run(f"stat -c %Y {dropin}").stdout)), f"{unit} runs without {dropin}"


def test_postgresql_runs_as_its_owner_with_no_capability(host):
    unit = postgresql_unit(host)
    props = host.run(f"systemctl show -p User -p CapabilityBoundingSet -p ProtectSystem {unit}").stdout
    assert "User=postgres" in props
    assert "CapabilityBoundingSet=\n" in props + "\n"
    assert "ProtectSystem=strict" in props
    # ... and still serves, and reloads.
    assert host.run("runuser -u postgres -- psql -XAtc 'SELECT 1'").stdout.strip() == "1"
    assert host.run(f"systemctl reload {unit}").rc == 0


def test_postgresql_configuration_is_not_world_readable(host):
    files = host.run("find /etc/postgresql -type f -perm /o=rwx").stdout.split()
    assert files == []


def test_cron_jobs_still_run_inside_the_sandbox(host):
    # A job like the backup's: pg_dump as postgres, output under /var.
    host.run("rm -f /var/lib/hardening-cron-test; echo '* * * * * root /usr/sbin/runuser -u postgres -- "
             "pg_dumpall --globals-only >/var/lib/hardening-cron-test' > /etc/cron.d/hardening-test")
    try:
        assert wait_for(lambda: host.file("/var/lib/hardening-cron-test").exists
                        and "CREATE ROLE" in host.file("/var/lib/hardening-cron-test").content_string,
                        timeout=90, interval=3)
    finally:
        host.run("rm -f /etc/cron.d/hardening-test /var/lib/hardening-cron-test")


def test_only_root_may_use_crontab(host):
    result = host.run("runuser -u nobody -- crontab -l")
    assert result.rc != 0
    assert "not allowed" in result.stderr


def test_core_dumps_are_off(host):
    # A login shell (profile.d and limits.d apply) of an unprivileged account.
    login = host.run("runuser -l nobody -s /bin/bash -c 'ulimit -H -c; umask'")
    assert login.stdout.split() == ["0", "0027"], login.stderr
    config = host.run("systemd-analyze cat-config systemd/coredump.conf").stdout
    assert "Storage=none" in config


def test_no_security_update_is_pending(host):
    pending = [line for line in host.run("apt list --upgradable 2>/dev/null").stdout.splitlines()
               if re.match(r"^\S+/\S*-security[ ,]", line)]
    assert pending == []


def test_kernel_settings_are_in_force(host):
    # The last value of a key in sysctl.d wins, as systemd-sysctl applies them.
    effective = {}
    for line in host.run("systemd-analyze cat-config sysctl.d").stdout.splitlines():
        m = re.match(r"^\s*([a-z0-9_.]+)\s*=\s*(.*?)\s*$", line)
        if m:
            effective[m.group(1)] = m.group(2)
    for key_, want in {"net.ipv4.conf.all.accept_redirects": "0", "net.ipv4.tcp_syncookies": "1",
                       "net.ipv4.conf.all.rp_filter": "1", "kernel.kptr_restrict": "2",
                       "fs.protected_symlinks": "1"}.items():
        assert effective.get(key_) == want, key_
    # A real host runs with them; a container's kernel settings are its host's.
    if host.file("/etc/ansible/facts.d/common.fact").content_string.find('"in_container": true') < 0:
        assert host.run("sysctl -n net.ipv4.conf.all.accept_redirects").stdout.strip() == "0"


def banned(host, address):
    return address in host.run("fail2ban-client status sshd").stdout


@pytest.mark.state_changing
def test_repeated_failed_logins_ban_the_source_until_the_ban_ends(host, address, key):
    # The source the host sees for the test machine: its bridge gateway.
    controller = host.run("ip -4 route show default").stdout.split()[2]
    time.sleep(31)  # UFW's own limit (6 new SSH connections in 30 s) starts afresh
    attempts = 0
    while not banned(host, controller) and attempts < MAXRETRY:
        ssh(address, f"nosuchuser{attempts}")
        attempts += 1
        time.sleep(1)
    assert wait_for(lambda: banned(host, controller), timeout=10, interval=1), \
        f"not banned after {attempts} failed logins"
    refused = ssh(address, OPERATOR, key=key)
    assert refused.returncode == 255 and re.search("timed out|refused", refused.stderr, re.I), refused.stderr
    assert wait_for(lambda: not banned(host, controller), timeout=BANTIME + 30, interval=2)
    assert ssh(address, OPERATOR, key=key).returncode == 0


def login_post(address):
    """A refused API login through Nginx from the test machine: the status, or
    curl's exit code (as a string starting with 'curl') when no answer came."""
    done = subprocess.run(["curl", "-sk", "--max-time", "5", "-o", "/dev/null", "-w", "%{http_code}",
                           "-H", "Host: localhost", "-X", "POST", "-d", "username=nobody&password=wrong",
                           f"https://{address}/api/auth/token/"], capture_output=True, text=True, check=False)
    return done.stdout if done.returncode == 0 else f"curl {done.returncode}"


@pytest.mark.state_changing
def test_repeated_refused_logins_ban_the_source_from_the_web_ports(host, address):
    controller = host.run("ip -4 route show default").stdout.split()[2]
    refused = []
    while controller not in host.run("fail2ban-client status estate-login").stdout and len(refused) < MAXRETRY + 2:
        refused.append(login_post(address))
        time.sleep(1)
    assert set(refused) <= {"400", "429"}, refused
    assert wait_for(lambda: controller in host.run("fail2ban-client status estate-login").stdout, timeout=15, interval=1)
    assert login_post(address).startswith("curl"), "still answered while banned"
    assert wait_for(lambda: login_post(address) == "400", timeout=BANTIME + 30, interval=3)
