import hmac

from django.conf import settings
from rest_framework.permissions import BasePermission

SERVICE_TOKEN_HEADER = "HTTP_X_SERVICE_TOKEN"  # noqa: S105 - a header name, not a secret


class HasServiceToken(BasePermission):
    """Node services authenticate with the shared X-Service-Token header."""

    message = "A valid X-Service-Token header is required."

    def has_permission(self, request, view):
        expected = settings.NODE_SERVICE_TOKEN
        presented = request.META.get(SERVICE_TOKEN_HEADER, "")
        if not expected or not presented:
            return False
        # Constant-time compare: no timing oracle on the token.
        return hmac.compare_digest(presented.encode(), expected.encode())


class ServiceAPIMixin:
    """For views only the Node services call: no user auth (so no CSRF), no
    throttling (they poll), token required."""

    authentication_classes = []
    permission_classes = [HasServiceToken]
    throttle_classes = []
