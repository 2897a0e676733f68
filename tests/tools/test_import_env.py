"""tools/import-env as a user meets it: a compose env file shaped like the
original stack's (secrets, an unknown variable, a value the preflight
rejects) becomes an inventory whose vault is encrypted, whose report names
the unknown and the rejected values, and whose preflight (the real
playbooks/preflight.yml, which contacts no host) fails on the rejected value
and passes once it is fixed."""

import importlib.machinery
import importlib.util
import os
import secrets
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
TOOL = REPO / "tools" / "import-env"
SHORT_KEY = "django-insecure-abc"
DB_PASSWORD = "s3cret compose password, # not a comment"
HOT_WALLET_KEY = secrets.token_hex(32)
ENV_FILE = f"""\
# The compose stack's .env.prod
DJANGO_SECRET_KEY={SHORT_KEY}
DEBUG=False
POSTGRES_DB=wallet
POSTGRES_USER=wallet
POSTGRES_PASSWORD="{DB_PASSWORD}"
POSTGRES_HOST=db
REDIS_URL=redis://redis:6379/0
ALLOWED_HOSTS=wallet.example.com,localhost,backend
BACKEND_API_URL=https://api.wallet.example.com/api/
FRONTEND_URL=https://app.wallet.example.com
SENTRY_DSN=https://abc123@o1.ingest.sentry.io/42
EMAIL_HOST=smtp.example.com
EMAIL_PORT=587
EMAIL_USE_TLS=True
EMAIL_HOST_PASSWORD='mail secret'
export TRON_NODE_URL=https://api.trongrid.io  # the payout worker's node
HOT_WALLET_PRIVATE_KEY={HOT_WALLET_KEY}
"""


def env():
    return {**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0"}


def run_tool(tmp_path, *extra):
    (tmp_path / ".env.prod").write_text(ENV_FILE)
    return subprocess.run(
        [str(TOOL), str(tmp_path / ".env.prod"), str(tmp_path / "moved"),
         "--vault-password-file", str(tmp_path / "vault-pass"), *extra],
        cwd=REPO, capture_output=True, text=True, env=env(), timeout=120)


def vault(tmp_path, *args):
    return subprocess.run(["ansible-vault", *args, "--vault-password-file", str(tmp_path / "vault-pass")],
                          capture_output=True, text=True, check=True, env=env(), timeout=60)


def preflight(tmp_path):
    return subprocess.run(
        ["ansible-playbook", "playbooks/preflight.yml", "-i", str(tmp_path / "moved"),
         "--vault-password-file", str(tmp_path / "vault-pass")],
        cwd=REPO, capture_output=True, text=True, env=env(), timeout=300)


@pytest.fixture
def imported(tmp_path):
    result = run_tool(tmp_path)
    assert result.returncode == 3, result.stdout + result.stderr  # written, with a value to fix
    return tmp_path, result.stdout


def test_secrets_land_encrypted_and_nowhere_else(imported):
    tmp_path, _ = imported
    group = tmp_path / "moved" / "group_vars" / "moved"
    assert (group / "vault.yml").read_text().startswith("$ANSIBLE_VAULT;1.1;AES256")
    plain = "".join(p.read_text() for p in (tmp_path / "moved").rglob("*") if p.is_file() and p.name != "vault.yml")
    for secret in (SHORT_KEY, DB_PASSWORD, HOT_WALLET_KEY, "mail secret", "abc123@o1"):
        assert secret not in plain
    secrets_ = yaml.safe_load(vault(tmp_path, "view", str(group / "vault.yml")).stdout)
    assert secrets_["vault_app_db_password"] == DB_PASSWORD
    assert secrets_["vault_app_sentry_dsn"] == "https://abc123@o1.ingest.sentry.io/42"
    assert secrets_["vault_app_extra_env"] == {"HOT_WALLET_PRIVATE_KEY": HOT_WALLET_KEY}
    # What the estate needs and compose never had is generated.
    assert len(secrets_["vault_app_redis_password"]) >= 16


def test_plain_settings_are_mapped_and_compose_names_dropped(imported):
    tmp_path, _ = imported
    settings = yaml.safe_load((tmp_path / "moved" / "group_vars" / "moved" / "vars.yml").read_text())
    assert settings["app_server_names"] == ["wallet.example.com", "api.wallet.example.com"]
    assert settings["app_email_port"] == 587 and settings["app_email_use_tls"] is True
    assert settings["app_extra_env"] == {"FRONTEND_URL": "https://app.wallet.example.com",
                                         "TRON_NODE_URL": "https://api.trongrid.io"}
    hosts = yaml.safe_load((tmp_path / "moved" / "hosts.yml").read_text())
    assert set(hosts["moved"]["children"]) >= {"web", "app", "worker", "scheduler", "node", "db", "redis"}


def test_report_names_the_unknown_and_the_rejected(imported):
    tmp_path, out = imported
    # The report file says the same (its first line names the command).
    assert out.startswith((tmp_path / "moved" / "import-report.txt").read_text().split("\n", 1)[1])
    unknown = out.split("Kept as extra environment")[1].split("Not imported")[0]
    assert "TRON_NODE_URL" in unknown and "HOT_WALLET_PRIVATE_KEY" in unknown
    rejected = out.split("REJECTED")[1]
    assert "vault_app_django_secret_key is too short" in rejected
    replaced = out.split("Not imported")[1].split("REJECTED")[0]
    assert "POSTGRES_HOST" in replaced and "REDIS_URL" in replaced and "'backend'" in replaced


def fix_the_key(tmp_path):
    """What the report asks for: a real SECRET_KEY, with ansible-vault."""
    vault_file = tmp_path / "moved" / "group_vars" / "moved" / "vault.yml"
    vault(tmp_path, "decrypt", str(vault_file))
    vault_file.write_text(vault_file.read_text().replace(SHORT_KEY, secrets.token_urlsafe(64)))
    vault(tmp_path, "encrypt", str(vault_file))


def test_preflight_rejects_the_value_then_passes_once_it_is_fixed(imported):
    tmp_path, _ = imported
    failed = preflight(tmp_path)
    assert failed.returncode != 0
    assert "vault_app_django_secret_key is too short" in " ".join((failed.stdout + failed.stderr).split())
    fix_the_key(tmp_path)
    passed = preflight(tmp_path)
    assert passed.returncode == 0, passed.stdout + passed.stderr


def test_extra_environment_may_not_override_the_estates_own(imported):
    tmp_path, _ = imported
    fix_the_key(tmp_path)
    settings_file = tmp_path / "moved" / "group_vars" / "moved" / "vars.yml"
    settings = yaml.safe_load(settings_file.read_text())
    settings["app_extra_env"]["DJANGO_SECURE_SSL_REDIRECT"] = "false"
    settings_file.write_text(yaml.safe_dump(settings))
    result = preflight(tmp_path)
    assert result.returncode != 0
    assert "app_extra_env sets DJANGO_SECURE_SSL_REDIRECT, which the estate writes itself" in \
        " ".join((result.stdout + result.stderr).split())


def test_an_existing_inventory_is_left_alone(imported):
    tmp_path, _ = imported
    before = {p: p.read_bytes() for p in (tmp_path / "moved").rglob("*") if p.is_file()}
    again = run_tool(tmp_path)
    assert again.returncode == 1 and "--force" in again.stderr
    assert {p: p.read_bytes() for p in (tmp_path / "moved").rglob("*") if p.is_file()} == before


def _parse_env():
    loader = importlib.machinery.SourceFileLoader("import_env", str(TOOL))
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader("import_env", loader))
    loader.exec_module(module)
    return module.parse_env


@pytest.mark.parametrize("line, value", [
    ("A=plain", "plain"),
    ("export A=exported", "exported"),
    ("A=value # comment", "value"),
    ("A='single # kept $HOME'", "single # kept $HOME"),
    ('A="double \\"quoted\\" \\n"', 'double "quoted" \n'),
    ("A=", ""),
    ("A=a=b=c", "a=b=c"),
])
def test_env_file_syntax(line, value):
    assert _parse_env()(line) == [("A", value, 1)]
