import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from config.celery import app as celery_app

DJANGO_DIR = Path(__file__).resolve().parent.parent
APP_DIR = DJANGO_DIR.parent
VENV_BIN = Path(sys.executable).parent


@pytest.fixture(autouse=True)
def _clean_redis_state():
    # Only our own keys: flushing the broker DB would delete kombu's queue
    # bindings under a running worker.
    cache.clear()  # separate Redis DB in tests (REDIS_CACHE_URL)
    redis_client().delete(settings.PAYOUT_QUEUE_KEY)
    yield


def redis_client():
    return redis.Redis.from_url(settings.REDIS_URL)


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user(username="alice", password="correct-horse-battery-9")


@pytest.fixture
def staff_user(django_user_model):
    return django_user_model.objects.create_user(username="boss", password="correct-horse-battery-9", is_staff=True)


@pytest.fixture
def anon_client():
    return APIClient()


@pytest.fixture
def api(user):
    client = APIClient()
    token = Token.objects.create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def service_client():
    client = APIClient()
    client.credentials(HTTP_X_SERVICE_TOKEN=settings.NODE_SERVICE_TOKEN)
    return client


@pytest.fixture
def eager_celery():
    """Run tasks in-process (unit level only; real workers are tested too)."""
    # With the CELERY_ settings namespace the key must be the prefixed one.
    previous = celery_app.conf.task_always_eager
    celery_app.conf.CELERY_TASK_ALWAYS_EAGER = True
    yield
    celery_app.conf.CELERY_TASK_ALWAYS_EAGER = previous


def subprocess_env(**overrides):
    """Environment for app processes: same services, the pytest database."""
    env = dict(os.environ)
    env["POSTGRES_DB"] = settings.DATABASES["default"]["NAME"]
    env["PYTHONUNBUFFERED"] = "1"
    env.update({key: str(value) for key, value in overrides.items()})
    return env


class Process:
    """A child process whose output goes to a file, shown when a test fails."""

    def __init__(self, name, argv, *, cwd, env, log_dir):
        self.name = name
        self.log_path = Path(log_dir) / f"{name}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        # Own process group: stop() reaches children (gunicorn/celery workers).
        self.proc = subprocess.Popen(
            argv, cwd=cwd, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def output(self):
        return self.log_path.read_text(errors="replace")

    def alive(self):
        return self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        # Kill leftovers in the group (e.g. orphaned pool processes).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self._log.close()
        return self.proc.returncode


def wait_until(predicate, timeout=30.0, interval=0.2, what="condition", processes=()):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        for process in processes:
            if not process.alive():
                pytest.fail(f"{process.name} exited ({process.proc.returncode}):\n{process.output()[-4000:]}")
        if time.monotonic() > deadline:
            details = "\n".join(f"--- {p.name}:\n{p.output()[-3000:]}" for p in processes)
            pytest.fail(f"timed out after {timeout}s waiting for {what}\n{details}")
        time.sleep(interval)


def start_celery_worker(log_dir, name="worker", **env):
    return Process(
        name,
        [
            str(VENV_BIN / "celery"),
            "-A",
            "config",
            "worker",
            "--loglevel=INFO",
            "--concurrency=2",
            "--hostname",
            f"{name}-{os.getpid()}@%h",
            "--without-mingle",
            "--without-gossip",
        ],
        cwd=DJANGO_DIR,
        env=subprocess_env(**env),
        log_dir=log_dir,
    )


def wait_for_worker(process, timeout=60):
    prefix = f"{process.name}-{os.getpid()}@"

    def ping():
        replies = celery_app.control.ping(timeout=0.5) or []
        return any(hostname.startswith(prefix) for reply in replies for hostname in reply)

    wait_until(ping, timeout=timeout, what=f"{process.name} to answer ping", processes=[process])


@pytest.fixture
def celery_worker(transactional_db, tmp_path):
    """A real `celery -A config worker` process against the test DB."""
    worker = start_celery_worker(tmp_path)
    try:
        wait_for_worker(worker)
        yield worker
    finally:
        worker.stop()
