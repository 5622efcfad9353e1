"""Structured logs: one JSON object per line on stderr, carrying the request's id.

Lines are formatted as they are logged and written in batches (`BatchedLines`): at most
FLUSH_S later by a daemon thread, at once for WARNING and above or when MAX_PENDING lines wait,
and by `flush()` (the app's shutdown; logging.shutdown at exit). One write per batch instead of
one per request's access line; a process killed outright loses at most FLUSH_S of INFO lines.

Tested by api_tests/test_observability.py.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from contextvars import ContextVar
from typing import Any

import orjson

REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
FLUSH_S = 0.25
MAX_PENDING = 512


class JsonLines(logging.Formatter):
    """ts, level, logger, msg, request_id, then the record's `fields` (pass extra={"fields": …})."""

    _second = -1
    _prefix = ""

    def timestamp(self, created: float) -> str:
        """ISO 8601 in UTC with milliseconds; the part up to the second is made once a second."""
        second = int(created)
        if second != self._second:
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = second
        millis = min(round((created - second) * 1e6) // 1000, 999)  # as datetime truncates
        return f"{self._prefix}.{millis:03d}+00:00"

    def format(self, record: logging.LogRecord) -> str:
        """One log record as one line of JSON."""
        exc = self.formatException(record.exc_info) if record.exc_info else None
        fields = getattr(record, "fields", {})
        return self.line(
            record.created, record.levelname, record.name, record.getMessage(), fields, exc
        )

    def line(
        self,
        created: float,
        level: str,
        logger: str,
        msg: str,
        fields: dict[str, Any],
        exc: str | None = None,
    ) -> str:
        """The line of a record made at `created` (time.time()) with these attributes."""
        entry: dict[str, Any] = {
            "ts": self.timestamp(created),
            "level": level,
            "logger": logger,
            "msg": msg,
        }
        request_id = REQUEST_ID.get()
        if request_id is not None:
            entry["request_id"] = request_id
        entry.update(fields)
        if exc is not None:
            entry["exc"] = exc
        return orjson.dumps(entry, default=str).decode()


class BatchedLines(logging.StreamHandler):  # type: ignore[type-arg]
    """A StreamHandler whose lines wait (at most FLUSH_S) to be written together."""

    def __init__(self) -> None:
        super().__init__()
        self.pending: list[str] = []
        self.flusher_pid = 0

    def emit(self, record: logging.LogRecord) -> None:
        """Format now, write later (now for WARNING and above, or a full batch)."""
        try:
            self.add(self.format(record), record.levelno)
        except Exception:
            self.handleError(record)

    def add(self, line: str, level: int) -> None:
        """One formatted line: written with the next batch (now for WARNING and above).

        The caller holds the handler's lock (as `handle` does around `emit`); see `add_line`."""
        self.pending.append(line)
        if level >= logging.WARNING or len(self.pending) >= MAX_PENDING:
            self.flush()
        elif self.flusher_pid != os.getpid():  # first line in this process (or a fork)
            self.flusher_pid = os.getpid()
            threading.Thread(target=self._flush_often, name="log-flush", daemon=True).start()

    def add_line(self, line: str, level: int) -> None:
        """`add` under the handler's lock, for a line formatted by the caller (a failure to
        write is reported as `emit` reports it, never raised to the caller)."""
        try:
            with self.lock:  # type: ignore[union-attr]
                self.add(line, level)
        except Exception:
            self.handleError(logging.makeLogRecord({"msg": line, "levelno": level}))

    def flush(self) -> None:
        """Write every waiting line in one write."""
        with self.lock:  # type: ignore[union-attr]
            if self.pending:
                lines, self.pending = self.pending, []
                self.stream.write("\n".join(lines) + "\n")
            if self.stream and hasattr(self.stream, "flush"):
                self.stream.flush()

    def _flush_often(self) -> None:
        pid = os.getpid()
        while self.flusher_pid == pid:
            time.sleep(FLUSH_S)
            if self.pending:
                self.flush()


def sole_handler(logger: logging.Logger, level: int) -> BatchedLines | None:
    """The BatchedLines (with JsonLines) that a record of `level` from `logger` would reach,
    when it is the only handler it would reach and no filter stands between: then a line
    formatted by its formatter and given to `add` is what logging would have written, without
    the LogRecord and the logging calls (the access line, service/api/middleware/context.py).
    None in any other configuration (a capture, another handler, a filter): log as usual."""
    if logger.filters or logger.disabled:
        return None
    found: BatchedLines | None = None
    current: logging.Logger | None = logger
    while current is not None:
        for handler in current.handlers:
            if level < handler.level:
                continue
            if (
                found is not None
                or type(handler) is not BatchedLines
                or handler.filters
                or type(handler.formatter) is not JsonLines
            ):
                return None
            found = handler
        current = current.parent if current.propagate else None
    return found


def flush() -> None:
    """Write the service's waiting log lines now."""
    for handler in logging.getLogger("service").handlers:
        handler.flush()


def configure(level: int = logging.INFO) -> None:
    """Send the service's loggers to stderr as JSON lines (idempotent)."""
    # What a record would gather and the lines never show (the logging HOWTO's "Optimization"):
    # the caller's frame, thread and process; a third of the cost of an access line.
    setattr(logging, "_srcfile", None)  # noqa: B010 (private in typeshed)
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    logger = logging.getLogger("service")
    logger.setLevel(level)
    if not any(isinstance(handler.formatter, JsonLines) for handler in logger.handlers):
        handler = BatchedLines()
        handler.setFormatter(JsonLines())
        logger.addHandler(handler)
