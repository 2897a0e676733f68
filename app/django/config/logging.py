"""One log line per record: journald and log shippers treat each line as an
event, so tracebacks are folded into the same line."""

import logging


class OneLineFormatter(logging.Formatter):
    def format(self, record):
        return super().format(record).replace("\r", "").replace("\n", " | ")
