"""Probes: /healthz, /readyz, /version; the landing page at /."""

import json
import socket

import pytest
from django.conf import settings


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_healthz_answers_without_database_or_allowed_host(client):
    # No DB access allowed here (no django_db mark): would raise if touched.
    response = client.get("/healthz", HTTP_HOST="not-allowed.example")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_is_200_when_database_and_redis_answer(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}


@pytest.mark.django_db
def test_readyz_is_503_when_redis_is_unreachable(client, settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port()}/0"
    response = client.get("/readyz")
    assert response.status_code == 503
    body = json.loads(response.content)
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"].startswith("error")


def test_version_shows_the_release(client):
    response = client.get("/version")
    assert response.status_code == 200
    assert response.json() == {"release": settings.APP_RELEASE}
    version_file = settings.RELEASE_ROOT / "VERSION"
    if not (settings.RELEASE_ROOT / "RELEASE").exists():
        assert version_file.read_text().strip() == settings.APP_RELEASE


def test_site_root_is_a_landing_page_with_the_release_and_links(client):
    response = client.get("/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    body = response.content.decode()
    assert settings.APP_RELEASE in body
    for link in ('href="/api/"', 'href="/admin/"', 'href="/readyz"'):
        assert link in body
