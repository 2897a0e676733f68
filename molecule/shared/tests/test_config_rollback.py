"""Configuration changes that break a service are rolled back. Each test runs
a tier's playbook directly (so site.yml's preflight does not stop the bad
value first) with an override that writes a file the service cannot use, then
checks from outside: the run failed with a report naming the host, the file
and the reason; the site serves; the file on the host is the previous one;
no backup copy is left behind."""

import json
import os
import time

import pytest
from estate import APP, playbook

pytestmark = pytest.mark.skipif(not os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY"), reason="needs a Molecule run")

READYZ = "curl -ksS -o /dev/null -w '%{http_code}' --resolve localhost:443:127.0.0.1 https://localhost/readyz"
NGINX_SITE = f"/etc/nginx/sites-available/{APP}.conf"
NGINX_UPSTREAMS = f"/etc/nginx/upstreams/{APP}.conf"
NGINX_FILES = ["/etc/nginx/snippets/edge-proxy.conf", NGINX_SITE, NGINX_UPSTREAMS]
# A short gate: the bad changes below never pass it, however long it waits.
FAST_GATE = ["-e", "config_guard_timeout=6"]


def site_serves(host, within=20):
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if host.run(READYZ).stdout == "200":
            return True
        time.sleep(1)
    return False


def pg_conf(host):
    version = host.run("ls /etc/postgresql").stdout.split()[0]
    return f"/etc/postgresql/{version}/main/conf.d/60-ansible.conf"


def failed_with_report(host, rc, out, changed_file, reason):
    text = " ".join(out.split())
    assert rc != 0, "the run succeeded with a configuration that breaks the service"
    assert "CONFIGURATION ROLLED BACK on " + host.backend.get_hostname() in text, text[-3000:]
    report = text[text.index("CONFIGURATION ROLLED BACK"):]
    assert changed_file in report
    assert reason in report, report[:1500]
    assert "serves again on the previous configuration" in report, report[:1500]


def no_backups_left(host, *dirs):
    found = host.run("find %s -name '*~'" % " ".join(dirs)).stdout.split()
    assert found == [], f"backup copies left behind: {found}"


@pytest.fixture
def web_host(host):
    if "web" not in host.ansible.get_variables().get("group_names", []):
        pytest.skip("not a web host")
    assert site_serves(host, within=5), "the site does not serve before the test"
    return host


@pytest.fixture
def db_host(web_host):
    if "db" not in web_host.ansible.get_variables().get("group_names", []):
        pytest.skip("not a db host")
    return web_host


def test_nginx_file_that_fails_nginx_t_is_put_back(web_host):
    host = web_host
    before = {path: host.file(path).content_string for path in NGINX_FILES}
    rc, out = playbook("web.yml", *FAST_GATE, "-e", "nginx_proxy_read_timeout=65q")
    failed_with_report(host, rc, out, "/etc/nginx/snippets/edge-proxy.conf",
                       '"proxy_read_timeout" directive invalid value in /etc/nginx/snippets/edge-proxy.conf')
    assert site_serves(host)
    assert {path: host.file(path).content_string for path in NGINX_FILES} == before
    no_backups_left(host, "/etc/nginx", "/etc/systemd/system/nginx.service.d")


def test_nginx_change_that_stops_the_site_answering_is_put_back(web_host):
    """nginx -t accepts an upstream on a port nothing listens on; the gate
    (/readyz through Nginx) does not."""
    host = web_host
    before = {path: host.file(path).content_string for path in NGINX_FILES}
    rc, out = playbook("web.yml", *FAST_GATE, "-e", "app_gunicorn_port=8999")
    failed_with_report(host, rc, out, NGINX_UPSTREAMS, "answered 502")
    assert site_serves(host)
    assert {path: host.file(path).content_string for path in NGINX_FILES} == before
    no_backups_left(host, "/etc/nginx")


@pytest.mark.parametrize("override, reason", [
    # Refused by the server's parser (postgres -C) before any reload.
    ('{"postgresql_settings": {"work_mem": "lots"}}', 'invalid value for parameter "work_mem"'),
    # 900 GB of shared_buffers is a valid value: only the restart fails.
    ("postgresql_shared_buffers_mb=900000", "Unable to restart service postgresql@"),
], ids=["value-the-parser-refuses", "restart-that-cannot-succeed"])
def test_postgresql_change_that_breaks_it_is_put_back(db_host, override, reason):
    host = db_host
    conf = pg_conf(host)
    before = host.file(conf).content_string
    rc, out = playbook("data.yml", *FAST_GATE, "-e", override)
    failed_with_report(host, rc, out, conf, reason)
    assert host.file(conf).content_string == before
    assert host.run("pg_isready -q -h 127.0.0.1 -p 5432").rc == 0
    assert site_serves(host, within=30)
    no_backups_left(host, os.path.dirname(os.path.dirname(conf)))


def test_application_setting_that_stops_gunicorn_is_put_back(web_host):
    """A unit change on the same release (no code to go back to): the
    rollout's gate fails, the unit files go back, the release restarts on
    them and the report says so."""
    host = web_host
    if "app" not in host.ansible.get_variables().get("group_names", []):
        pytest.skip("not an app host")
    unit = f"/etc/systemd/system/{APP}-gunicorn.service"
    before = host.file(unit).content_string
    # 8 MiB: a valid limit, and far too little for Gunicorn to import Django.
    limits = {"gunicorn": "8M", "celery_worker": "512M", "celery_beat": "256M", "flower": "256M", "node": "256M"}
    rc, out = playbook("app.yml", "-e", json.dumps({"application_memory_max": limits, "application_ready_timeout": 20}))
    text = " ".join(out.split())
    assert rc != 0, "the rollout succeeded with a memory limit Gunicorn cannot start in"
    assert "ROLLOUT STOPPED at " + host.backend.get_hostname() in text, text[-3000:]
    report = text[text.index("ROLLOUT STOPPED"):]
    assert "Its configuration went back to the files it had (" in report and unit in report, report[:1500]
    assert "and answers /readyz" in report, report[:1500]
    assert host.file(unit).content_string == before
    assert host.run(f"systemctl show -p MemoryMax --value {APP}-gunicorn").stdout.strip() != str(8 * 1024 * 1024)
    assert site_serves(host)
    no_backups_left(host, "/etc/systemd/system", f"/etc/{APP}", f"/usr/local/lib/{APP}-watchdog")


def test_unit_line_systemd_would_ignore_is_refused_before_it_is_installed(web_host):
    """systemd logs and ignores a setting it cannot parse (the service would
    run without its memory limit); systemd-analyze verify refuses the unit
    before it replaces the installed one."""
    host = web_host
    if "app" not in host.ansible.get_variables().get("group_names", []):
        pytest.skip("not an app host")
    units = host.run(f"ls /etc/systemd/system/{APP}-*.service").stdout.split()
    before = {unit: host.file(unit).content_string for unit in units}
    limits = {"gunicorn": "lots", "celery_worker": "300M", "celery_beat": "256M", "flower": "256M", "node": "256M"}
    rc, out = playbook("app.yml", "-e", json.dumps({"application_memory_max": limits}))
    text = " ".join(out.split())
    assert rc != 0, "a unit with an unparseable MemoryMax was installed"
    assert "Invalid memory limit 'lots'" in text, text[-3000:]
    # The other units this run rewrote (the Celery worker's limit) went back too.
    assert "Configuration put back on " + host.backend.get_hostname() in text, text[-3000:]
    assert {unit: host.file(unit).content_string for unit in units} == before
    assert site_serves(host)
    no_backups_left(host, "/etc/systemd/system")


def test_redis_setting_it_refuses_is_put_back(web_host):
    """Redis reads its file only at start: a value it refuses stops it; the
    file goes back and Redis (the Celery broker) runs again."""
    host = web_host
    if "redis" not in host.ansible.get_variables().get("group_names", []):
        pytest.skip("not a redis host")
    before = host.file("/etc/redis/redis.conf").content_string
    rc, out = playbook("data.yml", *FAST_GATE, "-e", "redis_tcp_keepalive=-5")
    failed_with_report(host, rc, out, "/etc/redis/redis.conf", "Unable to restart service redis-server")
    assert host.file("/etc/redis/redis.conf").content_string == before
    assert host.service("redis-server").is_running
    assert site_serves(host, within=30)
    no_backups_left(host, "/etc/redis")
