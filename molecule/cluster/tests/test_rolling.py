"""Rolling deploys on the cluster, from the operator's side: the real
deploy.yml and rollback.yml under a steady load through Nginx on the web host
(a real load generator, wrk), and a release that fails its health check.
Marked state_changing, so it runs after the other tests: it changes the
releases the hosts run."""

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import uuid

import pytest
from conftest import APP, EDGE, EDGE_HOST_HEADER, REPO, get_host

sys.path.insert(0, os.path.join(REPO, "molecule", "shared", "tests"))
import estate  # noqa: E402  (shared with the all-in-one scenario)
import wrk_load  # noqa: E402

APP_HOSTS = ["cluster-app1", "cluster-app2"]

pytestmark = [
    pytest.mark.state_changing,
    pytest.mark.skipif(not os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY"), reason="needs a Molecule run"),
]


def playbook(name, *extra):
    return estate.playbook(name, *extra, timeout=1800)


def served_release(host):
    """What the host's own Gunicorn answers at /version."""
    address = host.check_output(f"systemctl show -P Listen {APP}-gunicorn.socket").split()[0]
    out = host.run(f"curl -s --max-time 10 http://{address}/version").stdout
    return json.loads(out)["release"]


def current_release(host):
    return os.path.basename(host.file(f"/srv/{APP}/current").linked_to)


def app_copy(tmp_path, version, migration=False, broken_readyz=False):
    dest = tmp_path / "app"
    shutil.copytree(os.path.join(REPO, "app"), dest,
                    ignore=shutil.ignore_patterns("node_modules", ".venv", "__pycache__", "var"))
    (dest / "VERSION").write_text(version + "\n")
    if migration:
        # An expand-only (no-op) migration: the deploy must back up first.
        # A new name each run: pending on any database this test met before.
        (dest / f"django/core/migrations/0099_rolling_{uuid.uuid4().hex[:8]}.py").write_text(
            "from django.db import migrations\n\n\n"
            "class Migration(migrations.Migration):\n"
            '    dependencies = [("core", "0001_initial")]\n'
            "    operations = [migrations.RunSQL(migrations.RunSQL.noop, migrations.RunSQL.noop)]\n"
        )
    if broken_readyz:
        # Builds and passes `check --deploy`, but never becomes ready.
        health = dest / "django/core/health.py"
        text = health.read_text()
        assert "ok = all(" in text
        health.write_text(text.replace("ok = all(", "ok = False and all("))
    return dest


@pytest.fixture(scope="module")
def web():
    # The load generator runs on the web host, against its own Nginx.
    return wrk_load.install(get_host("cluster-web1"))


@pytest.fixture(scope="module")
def app_hosts():
    return {name: get_host(name) for name in APP_HOSTS}


@pytest.fixture(scope="module")
def first_release(app_hosts):
    releases = {current_release(h) for h in app_hosts.values()}
    assert len(releases) == 1, releases
    return releases.pop()


def no_drained_upstreams(web):
    return "down;" not in web.check_output(f"cat /etc/nginx/upstreams/{APP}.conf")


def test_rolling_deploy_under_load_fails_no_request(web, app_hosts, first_release, tmp_path):
    source = app_copy(tmp_path, "2.0.0", migration=True)
    with wrk_load.Load(web, f"{EDGE}/readyz", EDGE_HOST_HEADER) as load:
        rc, out = playbook("deploy.yml", "-e", f"application_source_path={source}")
        # Keep the load on a little after the last host switched.
        time.sleep(3)
    stats = load.summary()
    assert rc == 0, out[-4000:]
    new = {name: served_release(h) for name, h in app_hosts.items()}
    assert len(set(new.values())) == 1 and next(iter(new.values())).startswith("2.0.0-"), new
    assert stats["requests"] > 200, stats["text"]
    assert stats["non2xx"] == 0 and stats["socket_errors"] == 0, stats["text"]
    # Not one whole second without a response: the drained host's share went
    # to the other one, nothing queued behind a restarting Gunicorn.
    assert stats["zero_seconds"] == 0, stats["text"]
    assert no_drained_upstreams(web)
    # Pending migrations: a backup set was written first, on the db host.
    match = re.search(r"Backup before migrating: (/[^\s'\"]+)", out)
    assert match, out[-4000:]
    manifest = get_host("cluster-db1").run(f"cat {match.group(1)}/manifest.json")
    assert manifest.rc == 0 and APP in manifest.stdout, manifest.stderr


def test_each_app_host_was_drained_while_it_restarted(web):
    # The deploy above reloaded Nginx twice per app host (out, back in).
    reloads = web.run("journalctl -u nginx --since '-20 min' -o cat | grep -c Reload").stdout.strip()
    assert int(reloads or 0) >= 2 * len(APP_HOSTS)


def test_release_failing_its_health_check_stops_at_the_first_host(web, app_hosts, tmp_path):
    before = {name: current_release(h) for name, h in app_hosts.items()}
    worker_before = current_release(get_host("cluster-worker1"))
    source = app_copy(tmp_path, "3.0.0", broken_readyz=True)
    rc, out = playbook("deploy.yml", "-e", f"application_source_path={source}", "-e", "application_ready_timeout=10")
    text = " ".join(out.split())
    assert rc != 0
    assert "ROLLOUT STOPPED at cluster-app1" in text, out[-4000:]
    assert "/readyz" in text and "503" in text, out[-4000:]
    assert "Not switched, still on their release: cluster-app2" in text, out[-4000:]
    # The second app host and the workers never switched; the first went back.
    assert current_release(app_hosts["cluster-app2"]) == before["cluster-app2"]
    assert served_release(app_hosts["cluster-app2"]) == before["cluster-app2"]
    assert current_release(app_hosts["cluster-app1"]) == before["cluster-app1"]
    assert served_release(app_hosts["cluster-app1"]) == before["cluster-app1"]
    assert current_release(get_host("cluster-worker1")) == worker_before
    # ... and serves through Nginx again (put back into the upstreams).
    assert no_drained_upstreams(web)
    status = web.run(f"curl -sk -o /dev/null -w '%{{http_code}}' -H 'Host: {EDGE_HOST_HEADER}' {EDGE}/readyz").stdout
    assert status == "200"


def test_rollback_is_rolling_and_fails_no_request(web, app_hosts, first_release):
    with wrk_load.Load(web, f"{EDGE}/readyz", EDGE_HOST_HEADER) as load:
        rc, out = playbook("rollback.yml")
        time.sleep(3)
    stats = load.summary()
    assert rc == 0, out[-4000:]
    assert {name: served_release(h) for name, h in app_hosts.items()} == {n: first_release for n in APP_HOSTS}
    assert current_release(get_host("cluster-worker1")) == first_release
    assert stats["requests"] > 100, stats["text"]
    assert stats["non2xx"] == 0 and stats["socket_errors"] == 0, stats["text"]
    assert no_drained_upstreams(web)


# --- Release artifacts: built once, installed with no package registry ------------

CODE_HOSTS = ["cluster-web1", "cluster-app1", "cluster-app2", "cluster-worker1"]
# HTTPS out: PyPI and the npm registry (apt goes through its http proxy).
NO_REGISTRY = "OUTPUT -p tcp --dport 443 -j REJECT"


def build_artifact(source, out):
    result = subprocess.run([os.path.join(REPO, "tools", "release"), "build", "--source", str(source), "--out", str(out)],
                            capture_output=True, text=True, timeout=900, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return next(out.glob("*.tar.gz"))


def normalized(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def artifact_wheels(artifact):
    """{python tag: {(name, version)}} of the artifact's wheels."""
    wheels = {}
    with tarfile.open(artifact) as tar:
        for member in tar.getnames():
            match = re.match(r"\.artifact/wheels/(cp\d+)/([^/]+?)-([^-/]+?)-.*\.whl$", member)
            if match:
                wheels.setdefault(match.group(1), set()).add((normalized(match.group(2)), match.group(3)))
    return wheels


def installed(host):
    """(python tag, {(name, version)}) of the serving release's venv."""
    venv = f"/srv/{APP}/current/venv/bin/python"
    tag = host.check_output(f"{venv} -c \"import sys; print('cp%d%d' % sys.version_info[:2])\"")
    packages = set()
    for line in host.check_output(f"{venv} -m pip list --format=freeze --disable-pip-version-check").splitlines():
        name, version = line.split("==")
        packages.add((normalized(name), version))
    return tag, packages


# What `python3 -m venv` puts in every venv (Python 3.11 adds setuptools):
# the interpreter's, not the lock's.
VENV_SEED = {"pip", "setuptools"}


def test_an_artifact_with_one_changed_byte_is_refused_before_any_host_changes(app_hosts, tmp_path):
    artifact = build_artifact(app_copy(tmp_path, "4.0.0"), tmp_path / "dist")
    unpacked = tmp_path / "unpacked"
    with tarfile.open(artifact) as tar:
        tar.extractall(unpacked, filter="data")
    with open(unpacked / "django" / "manage.py", "ab") as handle:
        handle.write(b" ")
    tampered = tmp_path / "tampered.tar.gz"
    with tarfile.open(tampered, "w:gz") as tar:
        for path in sorted(unpacked.rglob("*")):
            tar.add(path, arcname=path.relative_to(unpacked).as_posix(), recursive=False)
    releases = {name: sorted(h.file(f"/srv/{APP}/releases").listdir()) for name, h in app_hosts.items()}
    rc, out = playbook("deploy.yml", "-e", "application_source=artifact", "-e", f"application_artifact_path={tampered}")
    said = " ".join(out.split())
    assert rc != 0
    assert "Refusing the release artifact, no host was changed" in said and "django/manage.py" in said, said[-3000:]
    assert {name: sorted(h.file(f"/srv/{APP}/releases").listdir()) for name, h in app_hosts.items()} == releases
    assert not app_hosts["cluster-app1"].file(f"/var/lib/{APP}-deploy/lock").exists  # a refusal gives the lock back


def test_one_artifact_deploys_to_both_debian_releases_with_no_registry(tmp_path):
    source = app_copy(tmp_path, "4.1.0")
    with open(source / "requirements.txt", "a", encoding="utf-8") as handle:
        handle.write("# lock regenerated: every host builds its environment anew, from the artifact\n")
    artifact = build_artifact(source, tmp_path / "dist")
    release = artifact.name.removesuffix(".tar.gz")
    hosts = {name: get_host(name) for name in CODE_HOSTS}
    for host in hosts.values():
        host.run_expect([0], f"iptables -I {NO_REGISTRY.replace('OUTPUT', 'OUTPUT 1', 1)}")
    try:
        for name in APP_HOSTS:
            probe = hosts[name].run(f"/srv/{APP}/current/venv/bin/pip download --no-deps --retries 0 --timeout 5 "
                                    "-d /tmp/registry-probe six")
            assert probe.rc != 0, f"{name} still reaches PyPI: {probe.stdout}"
        rc, out = playbook("deploy.yml", "-e", "application_source=artifact", "-e", f"application_artifact_path={artifact}")
    finally:
        for host in hosts.values():
            host.run(f"iptables -D {NO_REGISTRY}")
    assert rc == 0, out[-4000:]
    wheels = artifact_wheels(artifact)
    assert set(wheels) == {"cp311", "cp313"}, wheels.keys()
    tags = set()
    for name, host in hosts.items():
        assert current_release(host) == release, name
        tag, packages = installed(host)
        tags.add(tag)
        packages = {p for p in packages if p in wheels[tag] or p[0] not in VENV_SEED}
        assert packages == wheels[tag], (name, packages ^ wheels[tag])
    assert tags == {"cp311", "cp313"}  # Debian 12 and 13 hosts both
    for name in APP_HOSTS:
        assert served_release(hosts[name]) == release
    # The Node services' packages came from the artifact's npm cache.
    lock = json.loads((source / "node-wallet" / "package-lock.json").read_text())
    tree = json.loads(hosts["cluster-worker1"].check_output(f"cat /srv/{APP}/current/node-wallet/node_modules/.package-lock.json"))
    assert {k: v["version"] for k, v in tree["packages"].items()} == {
        k: v["version"] for k, v in lock["packages"].items() if k and not v.get("dev")}
