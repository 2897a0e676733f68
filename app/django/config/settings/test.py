"""Settings for the pytest suite: the real PostgreSQL and Redis given by the
environment (app/run-tests starts throwaway ones), plus speed-ups."""

import tempfile

from config.env import env_str

from .base import *  # noqa: F403

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast, tests only
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
MEDIA_ROOT = env_str("DJANGO_MEDIA_ROOT", tempfile.mkdtemp(prefix="app-test-media-"))
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
# lintmigrations (app/run-tests): every migration of the project's apps must
# keep the release still serving working during a rolling deploy.
INSTALLED_APPS = [*INSTALLED_APPS, "django_migration_linter"]  # noqa: F405
MIGRATION_LINTER_OPTIONS = {"include_apps": ["core", "crm", "wallet"]}
