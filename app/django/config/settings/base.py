"""Settings shared by every environment. All environment-specific values are
read from environment variables (see app/README.md for the full table)."""

from pathlib import Path

from config.env import env_bool, env_float, env_int, env_list, env_str
from config.release import read_release

# app/django
BASE_DIR = Path(__file__).resolve().parent.parent.parent
# app/ in the repository, the release directory on a deployed host.
RELEASE_ROOT = BASE_DIR.parent

SECRET_KEY = env_str("DJANGO_SECRET_KEY", required=True)
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

APP_RELEASE = read_release(env_str("APP_RELEASE_FILE"), RELEASE_ROOT, release=env_str("APP_RELEASE"))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "core",
    "crm",
    "wallet",
]

MIDDLEWARE = [
    # Outermost: every log line and response, the probes' included, carries
    # the request id (config.request_id).
    "core.middleware.RequestIDMiddleware",
    # Counts every response, the probes' included (core.metrics).
    "core.metrics.MetricsMiddleware",
    # Before the rest, so that probes never depend on ALLOWED_HOSTS, the SSL
    # redirect, sessions or the database.
    "core.middleware.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database: PostgreSQL through psycopg 3 --------------------------------
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": env_str("POSTGRES_DB", "app"),
        "USER": env_str("POSTGRES_USER", "app"),
        "PASSWORD": env_str("POSTGRES_PASSWORD", required=True),
        "HOST": env_str("POSTGRES_HOST", "127.0.0.1"),
        "PORT": env_int("POSTGRES_PORT", 5432),
        # Persistent connections; health checks drop connections that died
        # while idle (PostgreSQL restart, failover) instead of failing a request.
        "CONN_MAX_AGE": env_int("POSTGRES_CONN_MAX_AGE", 60),
        "CONN_HEALTH_CHECKS": True,
        # A server that vanished (a failover's lost primary) sends no reset:
        # without these a query on an open connection waits for TCP to give
        # up (about 15 minutes), holding a request or a worker's warm shutdown.
        "OPTIONS": {
            "connect_timeout": env_int("POSTGRES_CONNECT_TIMEOUT", 5),
            "keepalives": 1,
            "keepalives_idle": 10,
            "keepalives_interval": 3,
            "keepalives_count": 3,
            "tcp_user_timeout": env_int("POSTGRES_TCP_USER_TIMEOUT_MS", 10000),
        },
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: Celery broker/results and the cache -----------------------------
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
REDIS_CACHE_URL = env_str("REDIS_CACHE_URL", REDIS_URL)
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_CACHE_URL,
        "KEY_PREFIX": env_str("DJANGO_CACHE_KEY_PREFIX", "app"),
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
    }
}
# Redis list the Node payout worker consumes (LPUSH by Django, BLMOVE by Node).
PAYOUT_QUEUE_KEY = env_str("PAYOUT_QUEUE_KEY", "wallet:payouts")

# --- Auth -------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- I18N -------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("DJANGO_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Static and media (served by nginx, written by collectstatic/uploads) ---
STATIC_URL = env_str("DJANGO_STATIC_URL", "/static/")
STATIC_ROOT = env_str("DJANGO_STATIC_ROOT", str(RELEASE_ROOT / "var" / "static"))
MEDIA_URL = env_str("DJANGO_MEDIA_URL", "/media/")
MEDIA_ROOT = env_str("DJANGO_MEDIA_ROOT", str(RELEASE_ROOT / "var" / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Client documents: hard limit enforced by the model validator (nginx should
# allow a little more than this so Django can answer with a clear 400).
DOCUMENT_MAX_UPLOAD_BYTES = env_int("DOCUMENT_MAX_UPLOAD_BYTES", 20 * 1024 * 1024)
# Bigger uploads are streamed to a temp file instead of held in memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# Nginx (another user) serves /media/ from disk, as the original stack did:
# the deployment sets these to 644/755; keep 640 where nothing else reads.
FILE_UPLOAD_PERMISSIONS = int(env_str("DJANGO_FILE_UPLOAD_PERMISSIONS", "640"), 8)
FILE_UPLOAD_DIRECTORY_PERMISSIONS = int(env_str("DJANGO_FILE_UPLOAD_DIRECTORY_PERMISSIONS", "750"), 8)

# --- Email ------------------------------------------------------------------
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
# Django's names; EMAIL_USER / EMAIL_PASSWORD accepted as short aliases.
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", env_str("EMAIL_USER", ""))
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", env_str("EMAIL_PASSWORD", ""))
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "webmaster@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_TIMEOUT = 10

# --- reCAPTCHA (optional; checked on the public contact form when set) ------
RECAPTCHA_PUBLIC_KEY = env_str("RECAPTCHA_PUBLIC_KEY", "")
RECAPTCHA_PRIVATE_KEY = env_str("RECAPTCHA_PRIVATE_KEY", "")

# --- Node services ----------------------------------------------------------
NODE_API_URL = env_str("NODE_API_URL", "http://127.0.0.1:3001")
# Shared secret the Node services send in X-Service-Token. Unset means every
# service call is refused.
NODE_SERVICE_TOKEN = env_str("NODE_SERVICE_TOKEN", "")

# --- Django REST framework --------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_str("DJANGO_THROTTLE_ANON_RATE", "60/min"),
        "user": env_str("DJANGO_THROTTLE_USER_RATE", "1200/min"),
    },
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
}
# Gunicorn sits behind nginx on loopback: number of proxies in front, used by
# DRF to take the client address for throttling from X-Forwarded-For.
REST_FRAMEWORK["NUM_PROXIES"] = env_int("DJANGO_NUM_PROXIES", 1)

# --- Celery (read by config/celery.py with the CELERY_ namespace) -----------
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_ENABLE_UTC = True
# At-least-once delivery: ack after the task ran, requeue if the worker dies.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 300)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 360)
# Must exceed the longest task, or Redis redelivers a task still running.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": max(3600, CELERY_TASK_TIME_LIMIT * 2),
}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = CELERY_BROKER_TRANSPORT_OPTIONS
CELERY_RESULT_EXPIRES = 24 * 3600
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_WORKER_SEND_TASK_EVENTS = True  # lets Flower show tasks live
CELERY_TASK_SEND_SENT_EVENT = True
CELERY_HEARTBEAT_SECONDS = env_float("CELERY_HEARTBEAT_SECONDS", 10.0)
CELERY_BEAT_SCHEDULE = {
    "record-heartbeat": {
        "task": "core.tasks.record_heartbeat",
        "schedule": CELERY_HEARTBEAT_SECONDS,
        # A missed beat is useless later; do not pile them up.
        "options": {"expires": CELERY_HEARTBEAT_SECONDS},
    },
}
# PersistentScheduler state file; `celery beat --schedule PATH` overrides it.
CELERY_BEAT_SCHEDULE_FILENAME = env_str("CELERY_BEAT_SCHEDULE_FILE", "celerybeat-schedule")

# --- Logging: one line per record to stderr; journald adds timestamps -------
LOG_LEVEL = env_str("DJANGO_LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "oneline": {
            "()": "config.logging.OneLineFormatter",
            "format": "%(levelname)s %(name)s [%(process)d] request_id=%(request_id)s %(message)s",
        },
    },
    # On the handler, not a logger: records of every logger pass through it.
    "filters": {"request_id": {"()": "config.logging.RequestIdFilter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "oneline", "filters": ["request_id"]},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        # 4xx are logged by django.request at WARNING; keep them.
        "django.request": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        "celery": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
    },
}

# --- Sentry: only when a DSN is configured ----------------------------------
SENTRY_DSN = env_str("SENTRY_DSN", "")
if SENTRY_DSN:
    from config.sentry import init_sentry

    init_sentry(
        dsn=SENTRY_DSN,
        release=APP_RELEASE,
        environment=env_str("SENTRY_ENVIRONMENT", "production"),
        error_rate=env_float("SENTRY_SAMPLE_RATE", 1.0),
        traces_rate=env_float("SENTRY_TRACES_SAMPLE_RATE", 0.0),
    )

# Probes must work over plain HTTP straight to gunicorn (they are also
# answered by HealthCheckMiddleware before any redirect); the Node services
# call the service API on loopback without TLS.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^version$", r"^api/service/"]
