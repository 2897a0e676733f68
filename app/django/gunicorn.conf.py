"""Gunicorn settings, read from the environment. Gunicorn loads this file
automatically when started from app/django (or pass `-c gunicorn.conf.py`).

Start: gunicorn config.wsgi:application
"""

import multiprocessing
import os
import shutil
import signal
import subprocess
import sys

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")  # or unix:/run/app/gunicorn.sock
workers = int(os.environ.get("GUNICORN_WORKERS", min(multiprocessing.cpu_count() * 2 + 1, 8)))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = 5
# Recycle workers now and then (bounds slow memory growth), spread over a wide
# jitter so that workers started together do not all restart together.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "10000"))
max_requests_jitter = max_requests // 2
# Import Django once in the master: a recycled worker forks in milliseconds.
preload_app = os.environ.get("GUNICORN_PRELOAD", "true").lower() in ("1", "true", "yes", "on")
# Only nginx on this host may set X-Forwarded-* headers.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# Worker heartbeat files in RAM, not on a possibly slow disk (gunicorn's own
# advice); they hold no data.
_SHM = "/dev/shm"  # noqa: S108
worker_tmp_dir = os.environ.get("GUNICORN_WORKER_TMP_DIR", _SHM if os.path.isdir(_SHM) else None)

# Logs to stdout/stderr, one line each, no timestamps (journald adds them).
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
accesslog = "-" if os.environ.get("GUNICORN_ACCESS_LOG", "true").lower() in ("1", "true", "yes", "on") else None
errorlog = "-"
# request_id: the id in the response, i.e. nginx's X-Request-ID, or the one
# Django made when a request came without a usable one (core.middleware).
access_log_format = '%({x-forwarded-for}i)s %(h)s "%(r)s" %(s)s %(b)s %(M)sms request_id=%({x-request-id}o)s "%(a)s"'
# Merged over gunicorn's defaults; propagate False avoids every line twice.
logconfig_dict = {
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["error_console"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": ["console"], "propagate": False},
    },
    "formatters": {
        "generic": {"format": "%(levelname)s %(name)s [%(process)d] %(message)s", "class": "logging.Formatter"},
    },
}

# Metrics (core.metrics, config.metrics_server): with APP_METRICS_LISTEN set,
# every worker writes its values into a directory of this unit's runtime
# directory (systemd's RuntimeDirectory=, so a second master of the unit's
# hand-over twin keeps its own), emptied when the master starts and pruned of
# each worker that exits. Set before the app (and prometheus_client) loads.
_METRICS_LISTEN = os.environ.get("APP_METRICS_LISTEN", "")
_RUNTIME_DIR = os.environ.get("RUNTIME_DIRECTORY", "").split(":")[0]
_metrics_server = None
if _METRICS_LISTEN and _RUNTIME_DIR:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = os.path.join(_RUNTIME_DIR, "metrics")


def on_starting(server):
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        shutil.rmtree(directory, ignore_errors=True)
        os.makedirs(directory, mode=0o700)


def when_ready(server):
    """Serve the workers' metrics from a child of the master: no thread in
    the process that forks the workers."""
    global _metrics_server
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        _metrics_server = subprocess.Popen([sys.executable, "-m", "config.metrics_server"])  # noqa: S603


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _metrics_server is not None and _metrics_server.poll() is None:
        _metrics_server.send_signal(signal.SIGTERM)
        _metrics_server.wait(timeout=5)
