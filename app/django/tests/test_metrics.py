"""Request metrics: every response counted by status and timed by view; the
metrics server wants the scrape credentials and serves the workers' files
over TLS."""

import base64
import hashlib
import os
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request

from prometheus_client import REGISTRY

from config import metrics_server


def _count(status):
    return REGISTRY.get_sample_value("django_http_responses_total_by_status_total", {"status": status}) or 0


def test_every_response_is_counted_by_status(client):
    before_200, before_404 = _count("200"), _count("404")
    client.get("/healthz")
    client.get("/no-such-page/")
    assert _count("200") == before_200 + 1
    assert _count("404") == before_404 + 1


def test_latency_is_observed_by_view_and_method(client):
    labels = {"view": "healthz", "method": "GET"}
    name = "django_http_requests_latency_seconds_by_view_method_count"
    before = REGISTRY.get_sample_value(name, labels) or 0
    client.get("/healthz")
    assert REGISTRY.get_sample_value(name, labels) == before + 1


def _basic(pair):
    return "Basic " + base64.b64encode(pair.encode()).decode()


def test_authorized_accepts_only_the_credentials_of_the_hash():
    expected = hashlib.sha256(b"prometheus:s3cret").hexdigest()
    assert metrics_server.authorized(_basic("prometheus:s3cret"), expected)
    assert not metrics_server.authorized(_basic("prometheus:wrong"), expected)
    assert not metrics_server.authorized("Basic !!!", expected)
    assert not metrics_server.authorized(None, expected)
    assert not metrics_server.authorized(_basic("prometheus:s3cret"), "")


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_metrics_server_serves_the_workers_files_over_tls_with_auth(tmp_path):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", tmp_path / "key.pem", "-out", tmp_path / "cert.pem", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    multiproc = tmp_path / "metrics"
    multiproc.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(multiproc)}
    # A "worker": counts one 500 into the directory, as a Gunicorn worker would.
    subprocess.run([sys.executable, "-c", "from core import metrics; metrics.RESPONSES.labels('500').inc()"],
                   check=True, env=env, cwd=os.path.dirname(os.path.dirname(__file__)))
    port = _free_port()
    env.update(APP_METRICS_LISTEN=f"127.0.0.1:{port}", APP_METRICS_TLS_CERT=str(tmp_path / "cert.pem"),
               APP_METRICS_TLS_KEY=str(tmp_path / "key.pem"),
               APP_METRICS_AUTH_SHA256=hashlib.sha256(b"prometheus:s3cret").hexdigest())
    server = subprocess.Popen([sys.executable, "-m", "config.metrics_server"], env=env,
                              cwd=os.path.dirname(os.path.dirname(__file__)))
    context = ssl.create_default_context(cafile=str(tmp_path / "cert.pem"))
    url = f"https://127.0.0.1:{port}/metrics"
    try:
        for _ in range(50):
            try:
                urllib.request.urlopen(url, context=context, timeout=2)
            except urllib.error.HTTPError as error:
                assert error.code == 401
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        else:
            raise AssertionError("the metrics server did not answer")
        request = urllib.request.Request(url, headers={"Authorization": _basic("prometheus:s3cret")})
        body = urllib.request.urlopen(request, context=context, timeout=5).read().decode()
        assert 'django_http_responses_total_by_status_total{status="500"} 1.0' in body
    finally:
        server.terminate()
        server.wait(timeout=5)
