"""Logging filters of the console."""

import logging


def forbidden_without_traceback(record: logging.LogRecord) -> bool:
    """A refusal (403) is logged as one line: it is an answer, not a failure."""
    if getattr(record, "status_code", None) == 403:
        record.exc_info = None
        record.exc_text = None
    return True
