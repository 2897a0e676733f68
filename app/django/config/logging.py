"""One log line per record: journald and log shippers treat each line as an
event, so tracebacks are folded into the same line."""

import logging

from config.request_id import get_request_id


class RequestIdFilter(logging.Filter):
    """Adds `request_id` (the request or task being served, "-" outside of
    one) to every record, so one id finds a request's lines everywhere."""

    def filter(self, record):
        if not hasattr(record, "request_id"):
            record.request_id = get_request_id() or "-"
        return True


class OneLineFormatter(logging.Formatter):
    def format(self, record):
        # A handler configured without RequestIdFilter must not fail on it.
        if not hasattr(record, "request_id"):
            record.request_id = "-"
        return super().format(record).replace("\r", "").replace("\n", " | ")
