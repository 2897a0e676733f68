"""Releases from the operator's side: deploy a second release, survive a broken
one, roll back, deploy from git. Runs the real operator playbooks against the
Molecule host (marked state_changing, so it runs after the other tests: it
changes the current release)."""

import json
import os
import shutil
import time

import pytest
import wrk_load
from estate import APP, REPO, playbook

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
