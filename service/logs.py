"""Structured logs: one JSON object per line on stderr, carrying the request's id.

Tested by api_tests/test_observability.py.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import orjson

REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)


class JsonLines(logging.Formatter):
    """ts, level, logger, msg, request_id, then the record's `fields` (pass extra={"fields": …})."""

    def format(self, record: logging.LogRecord) -> str:
        """One log record as one line of JSON."""
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = REQUEST_ID.get()
        if request_id is not None:
            entry["request_id"] = request_id
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


def configure(level: int = logging.INFO) -> None:
    """Send the service's loggers to stderr as JSON lines (idempotent)."""
    # What a record would gather and the lines never show (the logging HOWTO's "Optimization"):
    # the caller's frame, thread and process; a third of the cost of an access line.
    setattr(logging, "_srcfile", None)  # noqa: B010 (private in typeshed)
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    logger = logging.getLogger("service")
    logger.setLevel(level)
    if not any(isinstance(handler.formatter, JsonLines) for handler in logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(JsonLines())
        logger.addHandler(handler)
