"""Payouts, deposits and the service API used by the Node services."""

import json

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from core.models import Strategy
from tests.conftest import redis_client
from wallet.models import Deposit, Payout

pytestmark = pytest.mark.django_db


@pytest.fixture
def payout_strategy():
    return Strategy.objects.create(
        name="payout", config={"max_amount": "1000.00", "currencies": ["EUR", "USD"], "fee_percent": "1"}
    )


def create_payout(api, capture, **data):
    payload = {"amount": "25.50", "currency": "EUR", "destination": "DE89370400440532013000", **data}
    with capture(execute=True):
        response = api.post("/api/payouts/", payload, format="json")
    return response


def test_payout_creation_is_pending_and_queued_in_redis(
    api, payout_strategy, eager_celery, django_capture_on_commit_callbacks
):
    response = create_payout(api, django_capture_on_commit_callbacks)
    assert response.status_code == 202, response.content
    assert response.json()["status"] == "pending"
    payout = Payout.objects.get(pk=response.json()["id"])
    assert payout.status == "pending"
    assert payout.queued_at is not None
    items = [json.loads(raw) for raw in redis_client().lrange(settings.PAYOUT_QUEUE_KEY, 0, -1)]
    assert items == [{"id": payout.pk, "amount": "25.50", "currency": "EUR", "destination": "DE89370400440532013000"}]


def test_payout_task_is_idempotent(api, payout_strategy, eager_celery, django_capture_on_commit_callbacks):
    from wallet.tasks import process_payout_request

    response = create_payout(api, django_capture_on_commit_callbacks)
    process_payout_request(response.json()["id"])  # a redelivered task
    assert redis_client().llen(settings.PAYOUT_QUEUE_KEY) == 1


def test_payout_over_the_limit_fails_without_queueing(
    api, payout_strategy, eager_celery, django_capture_on_commit_callbacks
):
    response = create_payout(api, django_capture_on_commit_callbacks, amount="5000.00")
    payout = Payout.objects.get(pk=response.json()["id"])
    assert payout.status == "failed"
    assert "limit" in payout.error
    assert redis_client().llen(settings.PAYOUT_QUEUE_KEY) == 0


def test_payout_input_is_validated(api):
    assert api.post("/api/payouts/", {"amount": "0", "destination": "x"}, format="json").status_code == 400
    assert (
        api.post("/api/payouts/", {"amount": "1", "destination": "x", "currency": "EURO"}, format="json").status_code
        == 400
    )
    assert (
        api.post("/api/payouts/", {"amount": "1", "destination": "x", "status": "paid"}, format="json").json()["status"]
        == "pending"
    )


def test_users_only_see_their_own_payouts(api, django_user_model):
    other = django_user_model.objects.create_user(username="mallory", password="x-correct-horse-9")
    Payout.objects.create(amount="1.00", destination="x", created_by=other)
    assert api.get("/api/payouts/").json()["count"] == 0


@pytest.mark.parametrize("token", [None, "", "wrong-token"])
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/service/strategies/"),
        ("post", "/api/service/deposits/"),
        ("post", "/api/service/payouts/1/result/"),
    ],
)
def test_service_endpoints_reject_missing_or_wrong_token(token, method, path):
    client = APIClient()
    if token is not None:
        client.credentials(HTTP_X_SERVICE_TOKEN=token)
    response = getattr(client, method)(path, {}, format="json")
    assert response.status_code in (401, 403)


def test_service_endpoints_reject_user_tokens(api):
    assert api.get("/api/service/strategies/").status_code in (401, 403)


def test_service_reads_enabled_strategies(service_client, payout_strategy):
    Strategy.objects.create(name="disabled-one", enabled=False)
    response = service_client.get("/api/service/strategies/")
    assert response.status_code == 200
    assert [item["name"] for item in response.json()] == ["payout"]
    assert service_client.get("/api/service/strategies/payout/").json()["config"]["fee_percent"] == "1"


def test_service_reports_deposit_idempotently(service_client, api):
    deposit = {"tx_id": "dep-sim-1", "amount": "12.34", "currency": "eur", "source": "bank-sim"}
    first = service_client.post("/api/service/deposits/", deposit, format="json")
    assert first.status_code == 201, first.content
    again = service_client.post("/api/service/deposits/", deposit, format="json")
    assert again.status_code == 200
    assert Deposit.objects.count() == 1
    listed = api.get("/api/deposits/?tx_id=dep-sim-1").json()
    assert listed["results"][0]["currency"] == "EUR"
    bad = service_client.post("/api/service/deposits/", {**deposit, "tx_id": "x", "amount": "-1"}, format="json")
    assert bad.status_code == 400


def test_service_reports_payout_result(service_client, api, user):
    payout = Payout.objects.create(amount="10.00", destination="DE00", created_by=user)
    url = f"/api/service/payouts/{payout.pk}/result/"
    assert service_client.post(url, {"status": "processing", "worker": "w1"}, format="json").status_code == 200
    assert Payout.objects.get(pk=payout.pk).status == "processing"
    assert service_client.post(url, {"status": "paid"}, format="json").status_code == 400  # tx_id required
    paid = {"status": "paid", "fee": "0.10", "tx_id": "sim-abc", "worker": "w1"}
    assert service_client.post(url, paid, format="json").status_code == 200
    assert service_client.post(url, paid, format="json").status_code == 200  # repeated report
    assert service_client.post(url, {"status": "failed", "error": "x"}, format="json").status_code == 409
    body = api.get(f"/api/payouts/{payout.pk}/").json()
    assert (body["status"], body["fee"], body["tx_id"], body["processed_by"]) == ("paid", "0.10", "sim-abc", "w1")
    assert service_client.post("/api/service/payouts/999999/result/", paid, format="json").status_code == 404


def test_payout_message_carries_the_request_id_when_there_is_one(user):
    from config.request_id import request_id_var
    from wallet.queue import payout_message

    payout = Payout.objects.create(amount="10.00", destination="DE00", created_by=user)
    assert "request_id" not in json.loads(payout_message(payout))
    token = request_id_var.set("req-7")
    try:
        assert json.loads(payout_message(payout))["request_id"] == "req-7"
    finally:
        request_id_var.reset(token)
