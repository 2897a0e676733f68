"""X-Request-ID: taken from nginx (or made), returned, logged, and carried
into Celery tasks and node-api calls."""

import io
import json
import logging
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest
from django.conf import settings

from config import celery as celery_signals
from config.logging import OneLineFormatter, RequestIdFilter
from config.request_id import get_request_id, request_id_var
from tests.conftest import wait_until
from wallet.models import Quote
from wallet.tasks import record_quote

HEX32 = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def in_request():
    """Runs the test as if serving a request with id "req-1"."""
    token = request_id_var.set("req-1")
    yield "req-1"
    request_id_var.reset(token)


def test_request_without_id_gets_a_fresh_one_in_the_response(anon_client):
    first = anon_client.get("/healthz")["X-Request-ID"]
    second = anon_client.get("/healthz")["X-Request-ID"]
    assert HEX32.fullmatch(first) and HEX32.fullmatch(second)
    assert first != second


@pytest.mark.parametrize("sent", ["0123456789abcdef0123456789abcdef", "client.id_7-x", "a" * 64])
def test_well_formed_request_id_is_kept_and_echoed(anon_client, sent):
    assert anon_client.get("/healthz", HTTP_X_REQUEST_ID=sent)["X-Request-ID"] == sent


@pytest.mark.parametrize("sent", ["", "a" * 65, "has space", "quote\"d", "semi;colon", "new\nline", "é"])
def test_malformed_request_id_is_replaced(anon_client, sent):
    returned = anon_client.get("/healthz", HTTP_X_REQUEST_ID=sent)["X-Request-ID"]
    assert HEX32.fullmatch(returned)


@pytest.mark.django_db
def test_error_responses_carry_the_id_too(anon_client):
    assert anon_client.get("/api/clients/", HTTP_X_REQUEST_ID="denied-1")["X-Request-ID"] == "denied-1"


def test_id_does_not_leak_past_its_request(anon_client):
    anon_client.get("/healthz", HTTP_X_REQUEST_ID="gone-after")
    assert get_request_id() is None


def console_line(message, logger="core.views"):
    """`message` logged through the console handler as LOGGING builds it."""
    console = settings.LOGGING["handlers"]["console"]
    assert console["filters"] == ["request_id"]
    assert settings.LOGGING["filters"]["request_id"]["()"] == "config.logging.RequestIdFilter"
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(OneLineFormatter(settings.LOGGING["formatters"]["oneline"]["format"]))
    handler.addFilter(RequestIdFilter())
    record = logging.getLogger(logger).makeRecord(logger, logging.INFO, __file__, 1, message, (), None)
    handler.handle(record)
    return stream.getvalue().rstrip("\n")


def test_log_lines_carry_the_request_id(in_request):
    assert re.fullmatch(r"INFO core\.views \[\d+\] request_id=req-1 hello", console_line("hello"))


def test_log_lines_outside_a_request_carry_a_dash():
    assert " request_id=- hello" in console_line("hello")


def test_formatter_alone_does_not_fail_without_the_filter():
    record = logging.makeLogRecord({"msg": "x", "levelname": "INFO", "name": "n"})
    assert OneLineFormatter("%(request_id)s %(message)s").format(record) == "- x"


def test_published_task_carries_the_request_id(in_request):
    headers = {}
    celery_signals._send_request_id(headers=headers)
    assert headers == {"request_id": "req-1"}


def test_task_published_outside_a_request_carries_none():
    headers = {}
    celery_signals._send_request_id(headers=headers)
    assert headers == {}


@pytest.mark.parametrize(("header", "expected"), [("req-9", "req-9"), (None, None), ("bad id", None)])
def test_worker_holds_the_task_id_only_while_the_task_runs(header, expected):
    task = SimpleNamespace(request=SimpleNamespace(is_eager=False, request_id=header))
    celery_signals._take_request_id(task=task)
    try:
        assert get_request_id() == expected
    finally:
        celery_signals._drop_request_id(task=task)
    assert get_request_id() is None


def test_eager_task_keeps_the_request_id(in_request):
    task = SimpleNamespace(request=SimpleNamespace(is_eager=True))
    celery_signals._take_request_id(task=task)
    celery_signals._drop_request_id(task=task)
    assert get_request_id() == "req-1"


def test_real_worker_logs_the_request_id_of_the_task(celery_worker):
    token = request_id_var.set("worker-req-1")
    try:
        record_quote.delay({"amount": "1.00", "currency": "EUR", "fee": "0.10", "spread": "0.01", "net": "0.89"})
    finally:
        request_id_var.reset(token)
    quote = wait_until(lambda: Quote.objects.first(), what="quote recorded", processes=[celery_worker])
    assert quote.request_id == "worker-req-1"
    wait_until(
        lambda: "INFO wallet.tasks [" in celery_worker.output()
        and re.search(rf"request_id=worker-req-1 quote {quote.pk} recorded", celery_worker.output()),
        what="the task's log line with the id",
        processes=[celery_worker],
    )
    # Published outside a request (as beat does): no id.
    record_quote.delay({"amount": "2.00", "currency": "EUR", "fee": "0.10", "spread": "0.01", "net": "1.89"})
    second = wait_until(lambda: Quote.objects.exclude(pk=quote.pk).first(), what="second quote")
    assert second.request_id == ""
    wait_until(
        lambda: f"request_id=- quote {second.pk} recorded" in celery_worker.output(),
        what="the beat-like task's line",
        processes=[celery_worker],
    )


@pytest.fixture
def fake_node_api(settings):
    """node-api's /quote, recording the X-Request-ID of each call."""
    seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(self.headers.get("X-Request-ID"))
            body = json.dumps(
                {"amount": "100.00", "currency": "EUR", "fee": "0.50", "spread": "0.25", "net": "99.25"}
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.NODE_API_URL = f"http://127.0.0.1:{server.server_address[1]}"
    yield seen
    server.shutdown()
    server.server_close()


@pytest.mark.django_db
def test_quote_sends_the_id_to_node_api_and_records_the_quote(api, user, fake_node_api, eager_celery, caplog):
    caplog.set_level(logging.INFO)
    response = api.get("/api/quote/?amount=100.00&currency=EUR", HTTP_X_REQUEST_ID="quote-req-1")
    assert response.status_code == 200, response.content
    assert response.json()["net"] == "99.25"
    assert response["X-Request-ID"] == "quote-req-1"
    assert fake_node_api == ["quote-req-1"]
    quote = Quote.objects.get()
    assert (quote.request_id, quote.requested_by, str(quote.net)) == ("quote-req-1", user, "99.25")
    assert "quote from node-api: 100.00 EUR, net 99.25" in caplog.messages


@pytest.mark.django_db
def test_quote_is_answered_even_when_it_cannot_be_recorded(api, fake_node_api, monkeypatch):
    from kombu.exceptions import OperationalError

    def broker_down(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(record_quote, "delay", broker_down)
    response = api.get("/api/quote/?amount=100.00")
    assert response.status_code == 200
    assert not Quote.objects.exists()
