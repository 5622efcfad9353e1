"""Server-sent events read back, written from the format's definition (WHATWG HTML, 9.2.6).

Independent of sse-starlette: lines end in CRLF, LF or CR; a blank line ends an event; `:` starts
a comment; `field: value` (one space after the colon dropped); data lines joined with LF.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Event:
    """One dispatched event: its type (default "message") and its data."""

    event: str
    data: str

    def json(self) -> Any:
        """The data parsed as JSON."""
        return json.loads(self.data)


def events(lines: Iterable[str]) -> Iterator[Event]:
    """The events of a stream given line by line (without their line ends)."""
    kind, data = "", []
    for line in lines:
        if line == "":
            if data:
                yield Event(kind or "message", "\n".join(data))
            kind, data = "", []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "event":
            kind = value
        elif name == "data":
            data.append(value)


def parse(text: str) -> list[Event]:
    """Every event of a whole stream."""
    return list(events(re.split(r"\r\n|\r|\n", text)))
