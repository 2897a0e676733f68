"""End to end: gunicorn, a Celery worker and beat, and the three Node
services run as real processes against the test PostgreSQL and Redis,
talking to each other over loopback the way they do on a server (minus
nginx: requests carry the X-Forwarded-Proto header nginx would add)."""

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from decimal import Decimal

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from rest_framework.authtoken.models import Token

from tests.conftest import APP_DIR, DJANGO_DIR, VENV_BIN, Process, redis_client, subprocess_env, wait_until

# Transactional: the other processes must see committed rows. The flush
# after each test wipes them, so each test re-seeds (fixture below).
pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
NODE_DIR = APP_DIR / "node-wallet"
HTTPS = {"X-Forwarded-Proto": "https"}  # what nginx adds in front of gunicorn


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def http(method, url, *, token=None, data=None, headers=None, timeout=10):
    """Returns (status, parsed JSON or text, headers); never follows redirects."""
    request_headers = {"Accept": "application/json", **(headers or {})}
    body = None
    if token:
        request_headers["Authorization"] = f"Token {token}"
    if data is not None:
        body = json.dumps(data).encode()
        request_headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=body, method=method, headers=request_headers)
    try:
        with _opener.open(request, timeout=timeout) as response:
            status, raw, response_headers = response.status, response.read(), response.headers
    except urllib.error.HTTPError as exc:
        status, raw, response_headers = exc.code, exc.read(), exc.headers
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None, None, {}
    try:
        payload = json.loads(raw) if raw else None
    except ValueError:
        payload = raw.decode(errors="replace")
    return status, payload, response_headers


class Stack:
    def __init__(self, django_url, node_url, token, processes):
        self.django_url = django_url
        self.node_url = node_url
        self.token = token
        self.processes = processes

    def api(self, method, path, data=None):
        return http(method, self.django_url + path, token=self.token, data=data, headers=HTTPS)

    def wait(self, predicate, timeout=60, what="condition"):
        return wait_until(predicate, timeout=timeout, interval=0.3, what=what, processes=self.processes.values())


@pytest.fixture(scope="module")
def stack(django_db_setup, tmp_path_factory):
    node = shutil.which("node")
    assert node, "node is not installed"
    tmp = tmp_path_factory.mktemp("e2e")
    token = secrets.token_hex(20)
    django_port, node_port, flower_port = free_port(), free_port(), free_port()
    django_url = f"http://127.0.0.1:{django_port}"
    worker_id = f"e2e-{os.getpid()}"
    # The production settings module, as deployed.
    django_env = subprocess_env(
        DJANGO_SETTINGS_MODULE="config.settings.prod",
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DJANGO_STATIC_ROOT=tmp / "static",
        DJANGO_MEDIA_ROOT=tmp / "media",
        CELERY_HEARTBEAT_SECONDS="1",
        NODE_API_URL=f"http://127.0.0.1:{node_port}",
        GUNICORN_BIND=f"127.0.0.1:{django_port}",
        GUNICORN_WORKERS="2",
    )
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=DJANGO_DIR, env=django_env, check=True, timeout=120,
    )  # fmt: skip
    node_env = {
        "PATH": os.environ["PATH"],
        "DJANGO_API_URL": django_url,
        "NODE_SERVICE_TOKEN": settings.NODE_SERVICE_TOKEN,
        "REDIS_URL": settings.REDIS_URL,
        "PORT": str(node_port),
        "WORKER_ID": worker_id,
        "DEPOSIT_INTERVAL_MS": "1000",
        "PAYOUT_POLL_SECONDS": "1",
        # No strategy caching: the DB is flushed and re-seeded between tests.
        "STRATEGY_REFRESH_MS": "0",
        "RETRY_DELAY_MS": "200",
    }
    celery = str(VENV_BIN / "celery")
    specs = {
        "gunicorn": ([str(VENV_BIN / "gunicorn"), "config.wsgi:application"], DJANGO_DIR, django_env),
        "celery-worker": (
            [celery, "-A", "config", "worker", "-l", "INFO", "-c", "2", "-n", f"{worker_id}@%h"],
            DJANGO_DIR,
            django_env,
        ),
        "celery-beat": (
            [celery, "-A", "config", "beat", "-l", "INFO", "--schedule", str(tmp / "celerybeat-schedule")],
            DJANGO_DIR,
            django_env,
        ),
        "flower": (
            [celery, "-A", "config", "flower", "--address=127.0.0.1", f"--port={flower_port}", "--url_prefix=flower"],
            DJANGO_DIR,
            django_env,
        ),
        "node-api": ([node, "services/node-api.js"], NODE_DIR, node_env),
        "node-payout-worker": ([node, "services/node-payout-worker.js"], NODE_DIR, node_env),
        "node-deposit-monitor": ([node, "services/node-deposit-monitor.js"], NODE_DIR, node_env),
    }
    processes = {}
    try:
        for name, (argv, cwd, env) in specs.items():
            processes[name] = Process(name, argv, cwd=cwd, env=env, log_dir=tmp)
        result = Stack(django_url, f"http://127.0.0.1:{node_port}", token, processes)
        result.flower_url = f"http://127.0.0.1:{flower_port}/flower"
        result.wait(lambda: http("GET", django_url + "/healthz")[0] == 200, what="gunicorn")
        result.wait(lambda: http("GET", result.node_url + "/healthz")[0] == 200, what="node-api")
        yield result
    finally:
        for process in processes.values():
            process.stop()
        redis_client().delete(f"{settings.PAYOUT_QUEUE_KEY}:processing:{worker_id}")


@pytest.fixture(autouse=True)
def _reference_data(stack):
    call_command("seed_reference_data", verbosity=0)
    user = get_user_model().objects.create_user(username="e2e", password="e2e-correct-horse-9")
    Token.objects.create(user=user, key=stack.token)


def test_probes_answer_over_plain_http_while_the_api_redirects_to_https(stack):
    assert http("GET", stack.django_url + "/healthz")[:2] == (200, {"status": "ok"})
    # Probes do not depend on DJANGO_ALLOWED_HOSTS (e.g. a check by IP).
    assert http("GET", stack.django_url + "/healthz", headers={"Host": "10.9.8.7:8000"})[0] == 200
    assert http("GET", stack.django_url + "/api/heartbeat/", headers={**HTTPS, "Host": "10.9.8.7"})[0] == 400
    status, body, _ = http("GET", stack.django_url + "/readyz")
    assert (status, body["checks"]) == (200, {"database": "ok", "redis": "ok"})
    assert http("GET", stack.django_url + "/version")[:2] == (200, {"release": settings.APP_RELEASE})
    status, _, headers = http("GET", stack.django_url + "/api/clients/", token=stack.token)
    assert status == 301
    assert headers["Location"].startswith("https://")
    status, _, headers = stack.api("GET", "/api/clients/")
    assert status == 200
    assert "max-age=" in headers["Strict-Transport-Security"]


def test_admin_login_renders_with_collected_static_files(stack):
    status, body, _ = http("GET", stack.django_url + "/admin/login/", headers={**HTTPS, "Accept": "text/html"})
    assert status == 200
    assert "/static/admin/css/base." in body  # hashed name from the manifest


def test_payout_is_paid_by_the_node_worker(stack):
    status, payout, _ = stack.api("POST", "/api/payouts/", {"amount": "25.50", "currency": "EUR", "destination": "DE1"})
    assert status == 202, payout
    assert payout["status"] == "pending"
    done = stack.wait(
        lambda: (p := stack.api("GET", f"/api/payouts/{payout['id']}/")[1])["status"] in ("paid", "failed") and p,
        what="payout paid",
    )
    assert done["status"] == "paid", done
    # seeded strategy: 0.50 % with a 0.10 minimum
    assert Decimal(done["fee"]) == Decimal("0.13")
    assert done["tx_id"].startswith("sim-")
    assert done["processed_by"].startswith("e2e-")


def test_payout_rejected_by_the_simulated_bank_fails(stack):
    _, payout, _ = stack.api("POST", "/api/payouts/", {"amount": "5.00", "currency": "EUR", "destination": "FAIL-ME"})
    done = stack.wait(
        lambda: (p := stack.api("GET", f"/api/payouts/{payout['id']}/")[1])["status"] in ("paid", "failed") and p,
        what="payout failed",
    )
    assert done["status"] == "failed"
    assert "rejected" in done["error"]


def test_deposits_from_the_monitor_appear_in_django(stack):
    # Sources come from the seeded deposit-monitor strategy. (A deposit made
    # while the DB was being flushed between tests may use the default one.)
    deposit = stack.wait(
        lambda: next(
            (d for d in stack.api("GET", "/api/deposits/")[1]["results"] if d["source"] in ("bank-sim", "card-sim")),
            None,
        ),
        what="a deposit from a seeded source",
    )
    assert deposit["tx_id"].startswith(f"dep-{deposit['source']}-e2e-")


def test_node_api_answers_health_strategies_and_quotes(stack):
    assert http("GET", stack.node_url + "/healthz")[:2] == (200, {"status": "ok"})
    status, body, _ = http("GET", stack.node_url + "/strategies")
    assert status == 200
    assert {"payout", "deposit-monitor", "quote"} <= {item["name"] for item in body["strategies"]}
    status, quote, _ = http("GET", stack.node_url + "/quote?amount=100.00")
    assert (status, quote["fee"], quote["spread"], quote["net"]) == (200, "0.50", "0.25", "99.25")


def test_django_gets_quotes_from_node_api(stack):
    status, quote, _ = stack.api("GET", "/api/quote/?amount=100.00&currency=EUR")
    assert (status, quote["net"]) == (200, "99.25")
    assert stack.api("GET", "/api/quote/?amount=abc")[0] == 400


def test_one_request_id_is_logged_by_gunicorn_django_the_worker_and_node_api(stack):
    """GET /api/quote/ calls node-api and records the quote with a Celery
    task: the id nginx sends shows up in every component's lines."""
    request_id = secrets.token_hex(16)
    status, quote, headers = http(
        "GET",
        stack.django_url + "/api/quote/?amount=100.00&currency=EUR",
        token=stack.token,
        headers={**HTTPS, "X-Request-ID": request_id},
    )
    assert (status, quote["net"], headers["X-Request-ID"]) == (200, "99.25", request_id)
    gunicorn, worker, node_api = (stack.processes[name] for name in ("gunicorn", "celery-worker", "node-api"))

    def lines(process, *needles):
        return [line for line in process.output().splitlines() if all(needle in line for needle in needles)]

    tag = f"request_id={request_id}"
    stack.wait(lambda: lines(worker, "INFO wallet.tasks [", tag, "recorded"), what="the worker's line")
    # Gunicorn logs the access line after the response went out: wait for it too.
    access_line = '"GET /api/quote/?amount=100.00&currency=EUR HTTP/1.1" 200'
    stack.wait(lambda: lines(gunicorn, "INFO gunicorn.access [", access_line, tag), what="Gunicorn's access line")
    assert lines(gunicorn, "INFO core.views [", tag, "quote from node-api: 100.00 EUR, net 99.25")
    [access] = [json.loads(line) for line in lines(node_api, f'"request_id":"{request_id}"', '"msg":"request"')]
    assert (access["path"], access["status"]) == ("/quote", 200)


def test_payout_reports_from_the_node_worker_carry_the_creating_request_id(stack):
    request_id = secrets.token_hex(16)
    status, payout, _ = http(
        "POST",
        stack.django_url + "/api/payouts/",
        token=stack.token,
        data={"amount": "3.00", "currency": "EUR", "destination": "DE2"},
        headers={**HTTPS, "X-Request-ID": request_id},
    )
    assert status == 202, payout
    stack.wait(lambda: stack.api("GET", f"/api/payouts/{payout['id']}/")[1]["status"] == "paid", what="payout paid")
    worker_lines = stack.processes["node-payout-worker"].output()
    assert f'"msg":"payout processed","payout":{payout["id"]}' in worker_lines
    assert f'"request_id":"{request_id}"' in worker_lines
    reported = f"request_id={request_id} payout {payout['id']} reported paid"
    assert reported in stack.processes["gunicorn"].output()


def test_flower_answers_under_its_prefix(stack):
    status = stack.wait(lambda: http("GET", stack.flower_url + "/healthcheck")[0], what="flower")
    assert status == 200


def test_beat_heartbeat_advances(stack):
    def count():
        beats = http("GET", stack.django_url + "/api/heartbeat/", headers=HTTPS)[1] or []
        return next((beat["count"] for beat in beats if beat["name"] == "celery-beat"), 0)

    first = stack.wait(count, what="first heartbeat")
    stack.wait(lambda: count() >= first + 2, timeout=30, what="heartbeat to advance")


def test_task_enqueued_over_http_is_run_by_the_worker(stack):
    _, client, _ = stack.api("POST", "/api/clients/", {"name": "Stark"})
    _, deal, _ = stack.api("POST", "/api/deals/", {"client": client["id"], "title": "Armor", "amount": "9.00"})
    stack.wait(lambda: stack.api("GET", f"/api/deals/{deal['id']}/")[1]["summary"], what="deal summary")
    status, probe, _ = stack.api("POST", "/api/tasks/probe/", {"sleep": 0.2})
    assert status == 202
    stack.wait(lambda: stack.api("GET", f"/api/tasks/probe/{probe['id']}/")[1]["status"] == "completed", what="probe")


def test_services_stop_cleanly_on_sigterm(stack):
    # Last in this module: stops the stack.
    node = ("node-api", "node-payout-worker", "node-deposit-monitor")
    for name in (*node, "flower", "celery-beat", "celery-worker", "gunicorn"):
        process = stack.processes[name]
        assert process.alive(), f"{name} died early:\n{process.output()[-3000:]}"
        code = process.stop(signal.SIGTERM, timeout=40)
        assert code == 0, f"{name} exited {code}:\n{process.output()[-3000:]}"
