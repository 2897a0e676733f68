from config.request_id import HEADER, META_KEY, new_request_id, request_id_var, valid_request_id
from core import health

PROBES = {
    "/healthz": health.healthz,
    "/readyz": health.readyz,
    "/version": health.version,
}


class HealthCheckMiddleware:
    """Answers the probe paths before any other middleware, so local probes
    (plain HTTP, Host 127.0.0.1) get a real answer regardless of
    ALLOWED_HOSTS, the HTTPS redirect, sessions or the database."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        view = PROBES.get(request.path_info.rstrip("/") or "/")
        if view is not None and request.method in ("GET", "HEAD"):
            return view(request)
        return self.get_response(request)


class RequestIDMiddleware:
    """Takes the request id from X-Request-ID (nginx sends one with every
    request) or makes one, holds it for the request's log lines, Celery tasks
    and node-api calls, and returns it in the response header."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = valid_request_id(request.META.get(META_KEY)) or new_request_id()
        request.request_id = request_id
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response[HEADER] = request_id
        return response
