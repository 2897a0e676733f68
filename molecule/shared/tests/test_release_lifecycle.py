"""Releases from the operator's side: deploy a second release, survive a broken
one, roll back, deploy from git. Runs the real operator playbooks against the
Molecule host (marked state_changing, so it runs after the other tests: it
changes the current release)."""

import json
import os
import shutil
import signal
import subprocess
import threading
import time

import pytest
import wrk_load
from estate import APP, INVENTORY, REPO, api_token, curl, playbook, wait_for

# The release mechanics are the same Ansible code on both Debian releases; to
# keep CI inside its time budget they run on the first one (trixie) only.
pytestmark = [
    pytest.mark.state_changing,
    pytest.mark.skipif(not os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY"), reason="needs a Molecule run"),
    pytest.mark.skipif(os.environ.get("MOLECULE_DISTRO", "trixie") != "trixie",
                       reason="release lifecycle runs on trixie only (CI time)"),
]


def served_release(host):
    out = host.run("curl -s http://127.0.0.1:8000/version").stdout
    return json.loads(out)["release"]


def current_release(host):
    return os.path.basename(host.file(f"/srv/{APP}/current").linked_to)


def env_of(host, release, link):
    """The environment a release's venv or node_modules link resolves to."""
    return host.file(f"/srv/{APP}/releases/{release}/{link}").linked_to


def app_copy(tmp_path, version):
    dest = tmp_path / "app"
    shutil.copytree(os.path.join(REPO, "app"), dest,
                    ignore=shutil.ignore_patterns("node_modules", ".venv", "__pycache__", "var"))
    (dest / "VERSION").write_text(version + "\n")
    return dest


@pytest.fixture(scope="module")
def first_release(host):
    return current_release(host)


def test_second_release_switches_current_and_keeps_the_first(host, first_release, tmp_path):
    source = app_copy(tmp_path, "2.0.0")
    # One host, no other to drain to: Gunicorn hands its socket over to its
    # twin while it restarts, so the deploy costs no request and no second.
    with wrk_load.Load(wrk_load.install(host), "https://127.0.0.1/readyz") as load:
        rc, out = playbook("deploy.yml", "-e", f"application_source_path={source}")
        time.sleep(3)
    assert rc == 0, out[-3000:]
    stats = load.summary()
    assert stats["requests"] > 200, stats["text"]
    assert stats["non2xx"] == 0 and stats["socket_errors"] == 0, stats["text"]
    assert stats["zero_seconds"] == 0, stats["text"]
    second = current_release(host)
    assert second.startswith("2.0.0-") and second != first_release
    assert served_release(host) == second
    assert host.file(f"/srv/{APP}/releases/{first_release}/.release-complete").exists
    assert host.file(f"/srv/{APP}/previous").linked_to.endswith(first_release)
    # Same locks: the code-only release reuses the first one's environments.
    for link in ("venv", "node-wallet/node_modules"):
        assert env_of(host, second, link) == env_of(host, first_release, link), link


def test_failed_build_leaves_the_running_release_serving(host, tmp_path):
    serving = served_release(host)
    source = app_copy(tmp_path, "3.0.0-broken")
    with open(source / "requirements.txt", "a", encoding="utf-8") as handle:
        # A dependency whose hash can't match: pip refuses, the build fails.
        handle.write("six==1.16.0 --hash=sha256:" + "0" * 64 + "\n")
    rc, out = playbook("deploy.yml", "-e", f"application_source_path={source}")
    assert rc != 0
    assert "still points to the previous release" in " ".join(out.split())
    assert served_release(host) == serving
    assert current_release(host) == serving
    assert not any(name.startswith("3.0.0-broken") for name in host.file(f"/srv/{APP}/releases").listdir())


UNSAFE_MIGRATION = """\
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("crm", "0001_initial")]
    operations = [
        migrations.AddField(model_name="client", name="nickname", field=models.CharField(max_length=20, null=True)),
        migrations.RemoveField(model_name="client", name="notes"),
        migrations.AddField(model_name="client", name="tier", field=models.IntegerField(default=1)),
    ]
"""


def test_migration_that_breaks_the_serving_release_is_refused(host, tmp_path):
    serving = served_release(host)
    source = app_copy(tmp_path, "4.0.0-unsafe")
    (source / "django" / "crm" / "migrations" / "0002_unsafe.py").write_text(UNSAFE_MIGRATION)
    rc, out = playbook("deploy.yml", "-e", f"application_source_path={source}")
    assert rc != 0
    refusal = " ".join(out.split()).split("Refusing to migrate:")[1].split("Split the change")[0]
    assert "Remove field notes from client: drops a column" in refusal
    assert "Add field tier to client: adds a NOT NULL column without a database default" in refusal
    assert "nickname" not in refusal  # a nullable column is safe
    # Nothing migrated, nothing switched: the old release keeps its column.
    columns = host.check_output(
        f"runuser -u postgres -- psql -XAt -d {APP} -c "
        "\"SELECT column_name FROM information_schema.columns WHERE table_name = 'crm_client'\"").split()
    assert "notes" in columns and "nickname" not in columns and "tier" not in columns
    assert served_release(host) == serving


def test_rollback_restores_the_previous_code(host, first_release):
    rc, out = playbook("rollback.yml")
    assert rc == 0, out[-3000:]
    assert current_release(host) == first_release
    assert served_release(host) == first_release


def test_changed_lock_gets_a_fresh_environment(host, first_release, tmp_path):
    source = app_copy(tmp_path, "2.1.0")
    with open(source / "requirements.txt", "a", encoding="utf-8") as handle:
        handle.write("# lock regenerated\n")
    rc, out = playbook("deploy.yml", "-e", f"application_source_path={source}")
    assert rc == 0, out[-3000:]
    release = current_release(host)
    assert release.startswith("2.1.0-") and served_release(host) == release
    venv = env_of(host, release, "venv")
    assert venv != env_of(host, first_release, "venv")
    assert host.file(f"{venv}/.release-complete").exists
    # package-lock.json did not change: node_modules is still shared.
    assert env_of(host, release, "node-wallet/node_modules") == env_of(host, first_release, "node-wallet/node_modules")
    # The broken build's partial environment is gone; every one left is
    # complete and linked by a release on disk.
    linked = {env_of(host, r, link).removesuffix("/node_modules")
              for r in host.file(f"/srv/{APP}/releases").listdir()
              for link in ("venv", "node-wallet/node_modules")
              if host.file(f"/srv/{APP}/releases/{r}/{link}").is_symlink}
    envs = {f"/srv/{APP}/envs/{name}" for name in host.file(f"/srv/{APP}/envs").listdir()}
    assert envs == linked
    assert all(host.file(f"{env}/.release-complete").exists for env in envs)


def test_release_from_git(host):
    # A repository on the host itself (no network): the git source path.
    # git is installed by the role only for the git source: the repository
    # is made before that, so the test brings its own.
    assert host.run("command -v git || DEBIAN_FRONTEND=noninteractive apt-get install -y -q git").rc == 0
    prep = host.run(
        f"set -e; rm -rf /srv/{APP}/src-test; "
        f"runuser -u {APP} -- sh -ec 'mkdir /srv/{APP}/src-test; cd /srv/{APP}/src-test; "
        f"cp -a /srv/{APP}/current/. .; rm -rf venv static node-wallet/node_modules RELEASE .release-complete; "
        "git init -q -b main; git add -A; "
        "git -c user.email=t@t -c user.name=t commit -qm release'"
    )
    assert prep.rc == 0, prep.stderr
    sha = host.run(f"runuser -u {APP} -- git -C /srv/{APP}/src-test rev-parse HEAD").stdout.strip()
    assert len(sha) == 40, sha
    rc, out = playbook(
        "deploy.yml", "-e", "application_source=git",
        "-e", f"application_source_git_repo=file:///srv/{APP}/src-test",
        "-e", "application_source_git_version=main",
    )
    assert rc == 0, out[-3000:]
    assert served_release(host) == f"main-{sha[:12]}"


def test_manage_playbook_creates_an_admin_non_interactively(host):
    rc, out = playbook(
        "manage.yml",
        "-e", 'manage_command="createsuperuser --noinput --username molecule-admin --email admin@example.test"',
        "-e", '{"manage_env": {"DJANGO_SUPERUSER_PASSWORD": "a-long-molecule-password-1"}}',
    )
    assert rc == 0, out[-3000:]
    check = host.run(
        f"/usr/local/bin/{APP}-manage shell -c "
        "\"from django.contrib.auth import get_user_model as g; "
        "u = g().objects.get(username='molecule-admin'); "
        "print(u.is_superuser and u.check_password('a-long-molecule-password-1'))\" </dev/null"
    )
    assert check.stdout.strip().endswith("True"), check.stdout + check.stderr


LOCK = f"/var/lib/{APP}-deploy/lock"


def start_playbook(name, *extra):
    """An operator's run in the background, in its own process group."""
    return subprocess.Popen(
        ["ansible-playbook", "-i", INVENTORY, f"playbooks/{name}", *extra],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        env={**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0"},
    )


def lock_holder(host):
    lock = host.file(LOCK)
    return json.loads(lock.content_string) if lock.exists else None


def test_a_second_deploy_fails_at_once_naming_the_holder(host, tmp_path):
    first = start_playbook("deploy.yml", "-e", f"application_source_path={app_copy(tmp_path, '6.0.0')}")
    try:
        holder = wait_for(lambda: lock_holder(host), timeout=300, interval=1)
        assert holder and holder["playbook"] == "deploy.yml" and holder["release"] == "6.0.0", holder
        started = time.monotonic()
        rc, out = playbook("rollback.yml")
        took = time.monotonic() - started
        assert rc != 0
        said = " ".join(out.split())
        assert f"is held by {holder['holder']}: deploy.yml of 6.0.0, process {holder['pid']}" in said, said[-2000:]
        assert "Wait for that run to end" in said and "STALE" not in said
        assert took < 120, took  # preflight and the lock, nothing else
        out, _ = first.communicate(timeout=900)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
    assert first.returncode == 0, out[-3000:]
    assert served_release(host).startswith("6.0.0-")
    assert lock_holder(host) is None  # given back at the end


def test_a_killed_deploy_leaves_a_stale_lock_that_is_broken_on_request(host, tmp_path):
    run = start_playbook("deploy.yml", "-e", f"application_source_path={app_copy(tmp_path, '6.1.0-killed')}")
    try:
        holder = wait_for(lambda: lock_holder(host), timeout=300, interval=1)
        assert holder, "the deploy never took the lock"
    finally:
        os.killpg(run.pid, signal.SIGKILL)
        run.communicate()
        # Mitogen's multiplexer runs in a session of its own: it goes too.
        subprocess.run(["pkill", "-KILL", "-f", f"application_source_path={tmp_path}"], check=False)
    rc, out = playbook("maintenance.yml", "-e", "maintenance=off")
    assert rc != 0
    said = " ".join(out.split())
    assert f"process {holder['pid']}" in said and "It is STALE" in said, said[-2000:]
    assert lock_holder(host) == holder
    rc, out = playbook("status.yml")
    assert rc == 0, out[-3000:]
    shown = " ".join(out.split())  # the YAML callback folds long lines
    assert f"HELD by {holder['holder']}: deploy.yml of 6.1.0-killed, process {holder['pid']}" in shown, out[-3000:]
    rc, out = playbook("maintenance.yml", "-e", "maintenance=off", "-e", "deploy_lock_break=true")
    assert rc == 0, out[-3000:]
    assert lock_holder(host) is None


RENAME_MIGRATION = """\
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("crm", "0001_initial")]
    operations = [
        migrations.AlterField(model_name="client", name="notes", field=models.TextField(blank=True, db_column="remarks")),
    ]
"""


def client_columns(host):
    return host.check_output(
        f"runuser -u postgres -- psql -XAt -d {APP} -c "
        "\"SELECT column_name FROM information_schema.columns WHERE table_name = 'crm_client'\"").split()


def watch_readyz(host, seen, stop):
    """Status codes of /readyz through Nginx, one request at a time."""
    while not stop.is_set():
        status = host.run("curl -sk -o /dev/null -w '%{http_code}' --max-time 5 https://127.0.0.1/readyz").stdout
        seen.append(status)
        time.sleep(0.2)


def test_column_rename_is_refused_rolling_and_deploys_in_a_maintenance_window(host, tmp_path):
    # The attribute keeps its name, the column gets a new one: the API is
    # unchanged, the release still serving breaks on the renamed column.
    source = app_copy(tmp_path, "7.0.0-rename")
    models = source / "django" / "crm" / "models.py"
    models.write_text(models.read_text().replace(
        "notes = models.TextField(blank=True)", 'notes = models.TextField(blank=True, db_column="remarks")'))
    (source / "django" / "crm" / "migrations" / "0002_rename_notes.py").write_text(RENAME_MIGRATION)
    serving = served_release(host)
    rc, out = playbook("deploy.yml", "-e", f"application_source_path={source}")
    assert rc != 0
    said = " ".join(out.split())
    assert "Refusing to migrate:" in said and "renames column notes to remarks" in said, said[-2000:]
    assert "app_deploy_strategy=maintenance" in said
    assert "notes" in client_columns(host) and served_release(host) == serving
    assert lock_holder(host) is None  # a refusal gives the lock back

    units = host.check_output(f"systemctl list-units '{APP}-*' --state=active --no-legend --plain | cut -d' ' -f1").split()
    seen, stop = [], threading.Event()
    watcher = threading.Thread(target=watch_readyz, args=(host, seen, stop))
    watcher.start()
    try:
        rc, out = playbook("deploy.yml", "-e", f"application_source_path={source}",
                           "-e", "app_deploy_strategy=maintenance")
        time.sleep(2)
    finally:
        stop.set()
        watcher.join()
    assert rc == 0, out[-3000:]
    columns = client_columns(host)
    assert "remarks" in columns and "notes" not in columns
    assert served_release(host).startswith("7.0.0-rename-")
    # Users saw the maintenance page, never an error from a stopped backend.
    assert "503" in seen and seen[-1] == "200", seen
    assert set(seen) <= {"200", "503"}, seen
    assert not host.file("/var/www/maintenance/enabled").exists
    after = host.check_output(f"systemctl list-units '{APP}-*' --state=active --no-legend --plain | cut -d' ' -f1").split()
    assert set(units) <= set(after), set(units) - set(after)
    # The API serves on the renamed column.
    auth = f"Authorization: Token {api_token(host, APP, 'maintenance-window-test')}"
    status, _, body, _ = curl(host, "https://localhost/api/clients/", "-H", auth, "-H", "Content-Type: application/json",
                              "--data", '{"name": "After the window", "notes": "kept in remarks"}')
    assert status == "201", body
    assert host.check_output(
        f"runuser -u postgres -- psql -XAt -d {APP} -c \"SELECT remarks FROM crm_client WHERE name = 'After the window'\""
    ) == "kept in remarks"
