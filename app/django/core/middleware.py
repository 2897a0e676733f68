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
