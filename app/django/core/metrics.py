"""Request metrics for Prometheus, with django-prometheus' metric names (so
its dashboards and the estate's alert rules read them as they are):
responses by status and a latency histogram by view and method.

Under Gunicorn every worker is a process: with PROMETHEUS_MULTIPROC_DIR set
(gunicorn.conf.py sets it before the app is imported) prometheus_client
keeps each worker's values in files there, and config.metrics_server adds
them up for a scrape.
"""

import time

from prometheus_client import Counter, Histogram

RESPONSES = Counter(
    "django_http_responses_total_by_status", "Responses by status code.", ["status"]
)
LATENCY = Histogram(
    "django_http_requests_latency_seconds_by_view_method",
    "Time from request to response, by view and method.",
    ["view", "method"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 25.0),
)


def _view_name(request):
    match = getattr(request, "resolver_match", None)
    if match is not None and match.view_name:
        return match.view_name
    # The probes answer before URL resolution (core.middleware).
    path = request.path_info.rstrip("/")
    return path.lstrip("/") if path in ("/healthz", "/readyz", "/version") else "<unresolved>"


class MetricsMiddleware:
    """First in MIDDLEWARE: counts every response, the probes' included."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        start = time.perf_counter()
        response = self.get_response(request)
        LATENCY.labels(_view_name(request), request.method).observe(time.perf_counter() - start)
        RESPONSES.labels(str(response.status_code)).inc()
        return response
