"""Configuration comes from the environment and fails clearly."""

import subprocess
import sys

import pytest

from config.release import read_release
from tests.conftest import DJANGO_DIR, subprocess_env


def run_check(settings_module, unset=(), **extra):
    env = subprocess_env(DJANGO_SETTINGS_MODULE=settings_module, **extra)
    for name in unset:
        env.pop(name, None)
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=DJANGO_DIR, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("variable", ["DJANGO_SECRET_KEY", "POSTGRES_PASSWORD"])
def test_check_fails_naming_the_missing_variable(variable):
    result = run_check("config.settings.test", unset=[variable])
    assert result.returncode != 0
    assert f"Set the {variable} environment variable" in result.stderr


@pytest.mark.parametrize("variable", ["DJANGO_ALLOWED_HOSTS", "REDIS_URL", "NODE_SERVICE_TOKEN"])
def test_prod_settings_require_deployment_values(variable):
    result = run_check("config.settings.prod", unset=[variable], DJANGO_ALLOWED_HOSTS="app.example.test")
    assert result.returncode != 0
    assert variable in result.stderr


def test_invalid_boolean_is_rejected_with_its_name():
    result = run_check(
        "config.settings.prod", DJANGO_ALLOWED_HOSTS="app.example.test", DJANGO_SECURE_SSL_REDIRECT="maybe"
    )
    assert result.returncode != 0
    assert "DJANGO_SECURE_SSL_REDIRECT" in result.stderr


def test_prod_settings_pass_check_with_a_complete_environment():
    result = run_check("config.settings.prod", DJANGO_ALLOWED_HOSTS="app.example.test")
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_release_prefers_env_then_release_file_then_version_then_dev(tmp_path):
    (tmp_path / "VERSION").write_text("1.2.3\n")
    assert read_release(None, tmp_path) == "1.2.3"
    (tmp_path / "RELEASE").write_text("20260101-abc\n")
    assert read_release(None, tmp_path) == "20260101-abc"
    custom = tmp_path / "custom"
    custom.write_text("custom-7\n")
    assert read_release(str(custom), tmp_path) == "custom-7"
    assert read_release(str(tmp_path / "missing"), tmp_path) == "1.2.3"
    assert read_release(None, tmp_path / "empty") == "dev"
    # APP_RELEASE (the environment) comes first.
    assert read_release(str(custom), tmp_path, release="env-9\n") == "env-9"
    assert read_release(str(custom), tmp_path, release=" ") == "custom-7"


def test_prod_forces_debug_off_even_if_the_environment_says_on():
    env = subprocess_env(
        DJANGO_SETTINGS_MODULE="config.settings.prod", DJANGO_ALLOWED_HOSTS="app.example.test", DJANGO_DEBUG="true"
    )
    code = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=DJANGO_DIR, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.stdout.strip() == "False", result.stderr


def test_log_records_are_single_lines_even_with_tracebacks():
    import logging

    from config.logging import OneLineFormatter

    formatter = OneLineFormatter("%(levelname)s %(name)s %(message)s")
    try:
        raise ValueError("boom\nsecond line")
    except ValueError:
        record = logging.getLogger("x").makeRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    line = formatter.format(record)
    assert "\n" not in line
    assert line.startswith("ERROR x failed | Traceback")
    assert "ValueError: boom | second line" in line
