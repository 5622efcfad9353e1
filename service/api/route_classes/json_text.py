"""The JSON rules of a request body, in one place, and the one parse of each body.

A body is one UTF-8 JSON document with no lone surrogate, nested at most MAX_DEPTH levels, and
no key twice in one object; anything else is MalformedJson (400 `/problems/malformed-json`)
whatever the depth, the route or the size. NaN, Infinity and 1e309 do parse (as Python's
parser reads them), so the strict schemas then reject them with a 422 naming the field.

`loads` is the only parser of request bodies: the route classes call it once per request
(`request_json`), in the server process or, for a large body, in the offload child; FastAPI's
handler is handed the parsed value and never parses again. (The size and media type are
BodyGuard's, before any parse.)

Tested by tests/api/route_classes/test_json_text.py and api_tests/test_hostile.py.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

import numpy as np
import orjson
from starlette.requests import Request

from service.core.errors import MalformedJson

MAX_DEPTH = 1024  # orjson's own limit; Python's parser is held to it too
# Python's parser recurses once per level (in C, on the recursion limit): room for MAX_DEPTH
# levels on top of the server's own frames.
if sys.getrecursionlimit() < 4 * MAX_DEPTH:
    sys.setrecursionlimit(4 * MAX_DEPTH)

_QUOTED = re.compile(rb'"([^"]*)"(\s*:)?')
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_STEP = np.zeros(256, dtype=np.int8)  # +1 opens a level, -1 closes one
_STEP[list(b"[{")] = 1
_STEP[list(b"]}")] = -1


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise MalformedJson(f"the key {key[:40]!r} appears twice in one object")
            seen.add(key)
    return value


def depth(body: bytes) -> int:
    """The deepest nesting of arrays and objects in JSON text (brackets inside strings aside)."""
    brackets = _STEP[np.frombuffer(_STRING.sub(b"", body), dtype=np.uint8)]
    return int(np.cumsum(brackets, dtype=np.int64).max(initial=0))


def _lone_surrogate(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _loads_exactly(body: bytes) -> Any:
    """Python's parser: slower, but it sees duplicate keys and takes NaN, Infinity and 1e309."""
    if depth(body) > MAX_DEPTH:
        raise MalformedJson(f"it is nested deeper than {MAX_DEPTH} levels")
    try:
        value = json.loads(body.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except UnicodeDecodeError:
        raise MalformedJson("it is not valid UTF-8") from None
    except RecursionError:  # not expected below MAX_DEPTH; the same answer if it happens
        raise MalformedJson(f"it is nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:
        raise MalformedJson(str(exc)) from None
    if b"\\u" in body and _lone_surrogate(value):
        raise MalformedJson("it has a lone surrogate (\\ud800-\\udfff) in a string")
    return value


def _key_count(value: Any) -> int:
    """The keys of every object in a parsed value (iteratively: the depth is the parser's)."""
    count, stack = 0, [value]
    while stack:
        item = stack.pop()
        if type(item) is dict:
            count += len(item)
            stack.extend(item.values())
        elif type(item) is list:
            stack.extend(item)
    return count


def _check_keys(body: bytes, value: Any) -> None:
    """Raise MalformedJson on a key repeated within one object."""
    if type(value) is dict and body.count(b":") == len(value):
        # Each key written has its own ':', so the text has at most as many keys as colons;
        # the parsed object has at most as many keys as the text. As many keys here as colons
        # in the whole text: no key was written twice (the usual flat body, in ~0.1 µs).
        return
    if b"\\" not in body:
        # Without escapes every '"' delimits a string, so this lists each key as written.
        keys = [key for key, colon in _QUOTED.findall(body) if colon]
        if len(keys) == len(set(keys)):
            return
        # Keys repeat across objects (a batch's items): the parse kept one of each key per
        # object, so it has as many keys as the text unless one object repeats one.
        if _key_count(value) == len(keys):
            return
    _loads_exactly(body)  # exact, and only when a duplicate is possible


def loads(body: bytes) -> Any:
    """Parse a request body, or raise MalformedJson saying why (never quoting the body)."""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        reason = str(exc)
        if reason.startswith("depth limit exceeded"):
            raise MalformedJson(f"it is nested deeper than {MAX_DEPTH} levels") from None
        if "surrogate" in reason:
            raise MalformedJson("it has a lone surrogate (\\ud800-\\udfff) in a string") from None
        # NaN, Infinity and 1e309 parse here, so the schema rejects them naming the field.
        return _loads_exactly(body)
    _check_keys(body, value)
    return value


async def request_json(request: Request) -> Any:
    """The request's body parsed once (cached on the request as Starlette's `json()` does)."""
    if not hasattr(request, "_json"):
        request._json = loads(await request.body())
    return request._json
