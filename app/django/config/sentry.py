"""Sentry for Django and Celery, initialised only when SENTRY_DSN is set."""

from django.core.exceptions import ImproperlyConfigured

# Never sent, whatever send_default_pii says: session cookies, user API
# tokens and the Node services' shared secret. Compared after lower-casing,
# dropping a WSGI "http_" prefix and turning "-" into "_", so the request's
# headers and a WSGI environ in a frame's variables are both covered.
SECRET_HEADERS = {"cookie", "set_cookie", "authorization", "proxy_authorization", "x_service_token"}


def _is_secret(key):
    name = str(key).lower().replace("-", "_")
    return name.removeprefix("http_") in SECRET_HEADERS


def _scrub(value):
    if isinstance(value, dict):
        return {key: _scrub(item) for key, item in value.items() if not _is_secret(key)}
    if isinstance(value, list):
        return [_scrub(item) for item in value]
    return value


def before_send(event, hint):
    """Drops cookies and credentials wherever they sit in the event."""
    request = event.get("request")
    if isinstance(request, dict):
        request.pop("cookies", None)
    return _scrub(event)


def sample_rate(name, value):
    if not 0.0 <= value <= 1.0:
        raise ImproperlyConfigured(f"{name} must be between 0 and 1, got {value}")
    return value


def init_sentry(*, dsn, release, environment, error_rate, traces_rate):
    # Imported here: without a DSN the SDK is not even loaded.
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        release=release,
        environment=environment,
        sample_rate=sample_rate("SENTRY_SAMPLE_RATE", error_rate),
        traces_sample_rate=sample_rate("SENTRY_TRACES_SAMPLE_RATE", traces_rate),
        send_default_pii=False,
        before_send=before_send,
        integrations=[DjangoIntegration(), CeleryIntegration()],
    )
