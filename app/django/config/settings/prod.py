"""Production: DEBUG is forced off, HTTPS switches default to on and the
values a real deployment cannot work without are required."""

from config.env import env_bool, env_int, env_list, env_str

from .base import *  # noqa: F403

DEBUG = False  # never from the environment in production

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", required=True)
REDIS_URL = env_str("REDIS_URL", required=True)
NODE_SERVICE_TOKEN = env_str("NODE_SERVICE_TOKEN", required=True)

# REDIS_URL is required here, so rebuild what base derived from its default.
REDIS_CACHE_URL = env_str("REDIS_CACHE_URL", REDIS_URL)
CACHES["default"]["LOCATION"] = REDIS_CACHE_URL  # noqa: F405
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL

# nginx terminates TLS and sets X-Forwarded-Proto; gunicorn only listens on
# loopback, so the header cannot come from a client directly.
if env_bool("DJANGO_SECURE_PROXY_SSL_HEADER", True):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
SESSION_COOKIE_SECURE = env_bool("DJANGO_SESSION_COOKIE_SECURE", True)
CSRF_COOKIE_SECURE = env_bool("DJANGO_CSRF_COOKIE_SECURE", True)
# HSTS is sticky in browsers: start small, raise it once HTTPS is proven.
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", False)
SESSION_COOKIE_HTTPONLY = True
# Checks an operator decided to accept (e.g. security.W021: HSTS preload is a
# per-domain opt-in); the deployment fails `check --deploy` on any other.
SILENCED_SYSTEM_CHECKS = env_list("DJANGO_SILENCED_SYSTEM_CHECKS", [])

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Hashed file names so nginx can cache static files forever.
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
}
