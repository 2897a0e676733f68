"""REST API behaviour seen by a client: auth, throttling, CRM, uploads."""

import json

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.throttling import SimpleRateThrottle

from core.models import Heartbeat, Strategy
from crm.models import Client, ClientDocument, Deal

pytestmark = pytest.mark.django_db


def test_api_requires_authentication(anon_client):
    assert anon_client.get("/api/clients/").status_code == 401


def test_token_from_credentials_gives_access(anon_client, user):
    response = anon_client.post(
        "/api/auth/token/", {"username": "alice", "password": "correct-horse-battery-9"}, format="json"
    )
    assert response.status_code == 200
    anon_client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    assert anon_client.get("/api/clients/").status_code == 200


def test_wrong_password_gets_no_token(anon_client, user):
    response = anon_client.post("/api/auth/token/", {"username": "alice", "password": "nope"}, format="json")
    assert response.status_code == 400


@pytest.fixture
def low_throttle_rates(monkeypatch):
    # DRF copies the rates at import time; patch the live dict. Counting
    # still happens in the real Redis cache.
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"anon": "3/min", "user": "5/min"})


def test_anonymous_requests_are_throttled(anon_client, low_throttle_rates):
    statuses = [anon_client.get("/api/heartbeat/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_user_requests_are_throttled_per_user(api, low_throttle_rates, django_user_model):
    statuses = [api.get("/api/clients/").status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    # Another user has their own budget.
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    other = django_user_model.objects.create_user(username="bob", password="x-correct-horse-9")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=other).key}")
    assert client.get("/api/clients/").status_code == 200


def test_clients_and_deals_crud_with_summary(api, eager_celery, django_capture_on_commit_callbacks):
    created = api.post("/api/clients/", {"name": "Acme Ltd", "email": "ops@acme.example"}, format="json")
    assert created.status_code == 201
    client_id = created.json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        deal = api.post(
            "/api/deals/",
            {"client": client_id, "title": "Widgets", "amount": "1000.00", "currency": "eur", "probability": 40},
            format="json",
        )
    assert deal.status_code == 201, deal.content
    deal_id = deal.json()["id"]
    body = api.get(f"/api/deals/{deal_id}/").json()
    assert body["currency"] == "EUR"
    assert "400.00 EUR expected" in body["summary"]
    assert api.patch(f"/api/deals/{deal_id}/", {"probability": 101}, format="json").status_code == 400
    assert api.delete(f"/api/clients/{client_id}/").status_code == 204
    assert not Deal.objects.filter(pk=deal_id).exists()


def test_recompute_endpoint_updates_the_summary(api, eager_celery, django_capture_on_commit_callbacks):
    client = Client.objects.create(name="Globex")
    deal = Deal.objects.create(client=client, title="Hardware", amount="50.00", probability=10)
    assert deal.summary == ""
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/api/deals/{deal.pk}/recompute/")
    assert response.status_code == 202
    deal.refresh_from_db()
    assert deal.summary.startswith("Globex: Hardware")
    assert deal.summary_updated_at is not None


def test_document_upload_is_stored_in_media_root(api):
    client = Client.objects.create(name="Initech")
    upload = SimpleUploadedFile("contract.pdf", b"%PDF-1.4 test", content_type="application/pdf")
    response = api.post("/api/documents/", {"client": client.pk, "file": upload}, format="multipart")
    assert response.status_code == 201, response.content
    document = ClientDocument.objects.get(pk=response.json()["id"])
    assert document.size == len(b"%PDF-1.4 test")
    assert document.title == "contract.pdf"
    assert document.file.path.startswith(str(settings.MEDIA_ROOT))
    with open(document.file.path, "rb") as stored:
        assert stored.read() == b"%PDF-1.4 test"
    assert response.json()["url"].startswith(settings.MEDIA_URL)


def test_document_over_20_mb_is_rejected(api):
    client = Client.objects.create(name="Initech")
    too_big = SimpleUploadedFile("big.pdf", b"0" * (20 * 1024 * 1024 + 1), content_type="application/pdf")
    response = api.post("/api/documents/", {"client": client.pk, "file": too_big}, format="multipart")
    assert response.status_code == 400
    assert "too large" in json.dumps(response.json())
    assert not ClientDocument.objects.exists()


def test_document_of_20_mb_exactly_is_accepted(api):
    client = Client.objects.create(name="Initech")
    limit = SimpleUploadedFile("scan.png", b"0" * (20 * 1024 * 1024), content_type="image/png")
    response = api.post("/api/documents/", {"client": client.pk, "file": limit}, format="multipart")
    assert response.status_code == 201


def test_document_with_unknown_extension_is_rejected(api):
    client = Client.objects.create(name="Initech")
    upload = SimpleUploadedFile("run.exe", b"MZ", content_type="application/octet-stream")
    response = api.post("/api/documents/", {"client": client.pk, "file": upload}, format="multipart")
    assert response.status_code == 400
    assert "not allowed" in json.dumps(response.json())


def test_strategies_readable_by_users_writable_by_staff(api, staff_user):
    Strategy.objects.create(name="payout", config={"fee_percent": "1"})
    assert api.get("/api/strategies/payout/").json()["config"] == {"fee_percent": "1"}
    assert api.patch("/api/strategies/payout/", {"enabled": False}, format="json").status_code == 403
    from rest_framework.test import APIClient

    staff = APIClient()
    staff.force_authenticate(staff_user)
    response = staff.patch("/api/strategies/payout/", {"config": {"fee_percent": "2"}}, format="json")
    assert response.status_code == 200
    assert Strategy.objects.get(name="payout").config == {"fee_percent": "2"}
    assert staff.patch("/api/strategies/payout/", {"config": [1]}, format="json").status_code == 400


def test_heartbeat_is_public(anon_client):
    Heartbeat.objects.create(name="celery-beat", count=3)
    response = anon_client.get("/api/heartbeat/")
    assert response.status_code == 200
    assert response.json()[0]["count"] == 3


def test_admin_login_page_renders(client):
    response = client.get("/admin/login/")
    assert response.status_code == 200
