import logging

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.utils.html import format_html

log = logging.getLogger(__name__)


def healthz(request):
    # Liveness: the process answers. Touches nothing else on purpose.
    return JsonResponse({"status": "ok"})


def _check_database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _check_redis():
    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    finally:
        client.close()


def readyz(request):
    checks = {}
    for name, check in (("database", _check_database), ("redis", _check_redis)):
        try:
            check()
            checks[name] = "ok"
        except Exception as exc:  # any failure means "not ready"
            log.warning("readyz: %s check failed: %s", name, exc)
            checks[name] = f"error: {exc.__class__.__name__}"
    ok = all(value == "ok" for value in checks.values())
    return JsonResponse(
        {"status": "ok" if ok else "unavailable", "checks": checks},
        status=200 if ok else 503,
    )


def version(request):
    return JsonResponse({"release": settings.APP_RELEASE})


LANDING = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Reference app</title></head>
<body><h1>Reference app</h1><p>Release <code>{release}</code></p>
<ul>
<li><a href="/api/">API</a></li>
<li><a href="/admin/">Admin</a></li>
<li><a href="/healthz">/healthz</a> (alive), <a href="/readyz">/readyz</a>
(database and Redis), <a href="/version">/version</a></li>
</ul></body></html>
"""


def landing(request):
    # The site root: what a browser sees first. Static text and the
    # release only; no database, so it answers while the tiers recover.
    return HttpResponse(format_html(LANDING, release=settings.APP_RELEASE))
