"""Sentry: set up only with a DSN, tagged with the release and environment,
never sending cookies or credentials; the error drills behind the service
token."""

import gzip
import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from config.sentry import before_send, sample_rate
from core.exceptions import ErrorDrill
from core.tasks import error_drill
from tests.conftest import DJANGO_DIR, subprocess_env

DRILL = "/api/service/error-drill/"


def test_before_send_drops_cookies_and_credentials_everywhere():
    # A WSGI environ in a frame's local variables.
    environ = {"HTTP_COOKIE": "s", "HTTP_AUTHORIZATION": "t", "PATH_INFO": "/"}
    event = {
        "request": {
            "url": "https://app.example.test/api/x/",
            "headers": {
                "Cookie": "sessionid=s",
                "Authorization": "Token t",
                "X-Service-Token": "svc",
                "proxy-authorization": "Basic b",
                "User-Agent": "curl",
                "X-Request-ID": "r1",
            },
            "cookies": {"sessionid": "s"},
        },
        "exception": {"values": [{"stacktrace": {"frames": [{"vars": {"environ": environ}}]}}]},
    }
    scrubbed = before_send(event, {})
    assert scrubbed["request"] == {
        "url": "https://app.example.test/api/x/",
        "headers": {"User-Agent": "curl", "X-Request-ID": "r1"},
    }
    assert scrubbed["exception"]["values"][0]["stacktrace"]["frames"][0]["vars"] == {"environ": {"PATH_INFO": "/"}}


@pytest.mark.parametrize("value", [-0.1, 1.5])
def test_sample_rates_outside_zero_to_one_are_refused(value):
    with pytest.raises(ImproperlyConfigured, match="SENTRY_SAMPLE_RATE"):
        sample_rate("SENTRY_SAMPLE_RATE", value)


@pytest.mark.parametrize("token", [None, "", "wrong-token"])
@pytest.mark.parametrize("where", ["view", "task"])
def test_error_drills_need_the_service_token(token, where, monkeypatch):
    monkeypatch.setattr(error_drill, "delay", lambda: pytest.fail("drill ran without the token"))
    headers = {} if token is None else {"HTTP_X_SERVICE_TOKEN": token}
    response = Client().post(DRILL, {"where": where}, content_type="application/json", **headers)
    assert response.status_code == 403


@pytest.mark.django_db
def test_error_drills_refuse_user_tokens(api):
    assert api.post(DRILL, {"where": "view"}, format="json").status_code == 403


def test_view_drill_raises_error_drill(service_client):
    with pytest.raises(ErrorDrill):
        service_client.post(DRILL, {"where": "view"}, format="json")


def test_task_drill_is_enqueued(service_client, monkeypatch):
    sent = []
    monkeypatch.setattr(error_drill, "delay", lambda: sent.append(1) or SimpleNamespace(id="task-1"))
    response = service_client.post(DRILL, {"where": "task"}, format="json")
    assert (response.status_code, response.json(), sent) == (202, {"task_id": "task-1"}, [1])
    assert service_client.post(DRILL, {"where": "elsewhere"}, format="json").status_code == 400


def test_task_drill_raises_error_drill():
    with pytest.raises(ErrorDrill):
        error_drill.apply(throw=True)


@pytest.fixture
def sentry_server():
    """Records what a Sentry SDK posts to /api/<project>/envelope/."""
    envelopes = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            envelopes.append((self.path, body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], envelopes
    server.shutdown()
    server.server_close()


def events(envelopes):
    """Event payloads of the recorded envelopes."""
    found = []
    for _path, body in envelopes:
        lines = body.split(b"\n")
        index = 1  # after the envelope header
        while index < len(lines) - 1:
            item = json.loads(lines[index])
            payload = lines[index + 1]
            if item.get("type") == "event":
                found.append(json.loads(payload))
            index += 2
    return found


DRILL_SCRIPT = """
# Through the WSGI application, as under gunicorn: Django's test client
# skips the WSGI layer where the SDK records the request's headers.
import io, json, sentry_sdk
from wsgiref.util import setup_testing_defaults
from config.wsgi import application
from django.conf import settings
body = json.dumps({"where": "view"}).encode()
environ = {
    "REQUEST_METHOD": "POST", "PATH_INFO": "/api/service/error-drill/", "HTTP_HOST": "127.0.0.1",
    "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body),
    "HTTP_X_SERVICE_TOKEN": settings.NODE_SERVICE_TOKEN, "HTTP_AUTHORIZATION": "Token auth-secret-1",
    "HTTP_COOKIE": "sessionid=cookie-secret-1", "HTTP_X_REQUEST_ID": "drill-req-1",
}
setup_testing_defaults(environ)
statuses = []
b"".join(application(environ, lambda status, headers, exc_info=None: statuses.append(status)))
print(statuses[0])
sentry_sdk.flush(5)
"""


def test_view_error_reaches_sentry_with_release_and_no_credentials(sentry_server):
    port, envelopes = sentry_server
    env = subprocess_env(
        SENTRY_DSN=f"http://public@127.0.0.1:{port}/1",
        SENTRY_ENVIRONMENT="drill-env",
        SENTRY_SAMPLE_RATE="1.0",
        APP_RELEASE="drill-release-1",
    )
    result = subprocess.run(
        [sys.executable, "-c", DRILL_SCRIPT], cwd=DJANGO_DIR, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith("500 ")
    assert {path for path, _ in envelopes} == {"/api/1/envelope/"}
    [event] = events(envelopes)
    assert (event["release"], event["environment"]) == ("drill-release-1", "drill-env")
    assert event["exception"]["values"][-1]["type"] == "ErrorDrill"
    headers = {name.lower(): value for name, value in event["request"]["headers"].items()}
    assert headers["x-request-id"] == "drill-req-1"
    assert not {"cookie", "authorization", "x-service-token"} & set(headers)
    raw = b"".join(body for _, body in envelopes)
    for secret in (b"cookie-secret-1", b"auth-secret-1", env["NODE_SERVICE_TOKEN"].encode()):
        assert secret not in raw


def test_without_a_dsn_the_sdk_is_not_even_loaded():
    script = "import django, sys; django.setup(); print('sentry_sdk' in sys.modules)"
    env = subprocess_env()
    env.pop("SENTRY_DSN", None)
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=DJANGO_DIR, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.stdout.strip() == "False", result.stderr


@pytest.mark.django_db(transaction=True)
def test_task_error_reaches_sentry_from_a_real_worker(sentry_server, tmp_path):
    from tests.conftest import start_celery_worker, wait_for_worker, wait_until

    port, envelopes = sentry_server
    worker = start_celery_worker(
        tmp_path, name="sentry-worker", SENTRY_DSN=f"http://public@127.0.0.1:{port}/1", APP_RELEASE="task-release-1"
    )
    try:
        wait_for_worker(worker)
        error_drill.delay()
        wait_until(lambda: events(envelopes), what="the task's event", processes=[worker])
    finally:
        worker.stop()
    [event] = events(envelopes)
    assert (event["release"], event["environment"]) == ("task-release-1", "production")
    assert event["exception"]["values"][-1]["type"] == "ErrorDrill"
    assert event["transaction"] == "core.tasks.error_drill"
