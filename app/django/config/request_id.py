"""The id of the request being served, carried into log lines, Celery tasks
and calls to node-api. Nginx sends it as X-Request-ID; anything else that
reaches us without a usable one gets a fresh id."""

import contextvars
import re
import uuid

HEADER = "X-Request-ID"
# Django's request.META name for the header.
META_KEY = "HTTP_X_REQUEST_ID"
# Celery message header the id travels in.
TASK_HEADER = "request_id"

# Short and log-safe: no spaces, quotes or control characters can reach a
# log line or a header through it.
_VALID = re.compile(r"[A-Za-z0-9._-]{1,64}")

request_id_var = contextvars.ContextVar("request_id", default=None)


def new_request_id():
    return uuid.uuid4().hex


def valid_request_id(value):
    """The value if it is a usable id, else None."""
    if isinstance(value, str) and _VALID.fullmatch(value):
        return value
    return None


def get_request_id():
    return request_id_var.get()
