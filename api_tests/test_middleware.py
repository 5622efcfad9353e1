"""The request layer (service/api/middleware/layer.py): the direct routes answer exactly as the
framework's path does, and the checks, id, metrics and access line cover them too."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api_tests.support.course import COURSE_W
from api_tests.support.hostile import JSON

POINT = {"w": COURSE_W, "row": 0}
BODIES = [
    json.dumps(POINT).encode(),
    json.dumps({"w": COURSE_W, "x": [1, 2, 3, 4, 5], "y": 0.5}).encode(),
    b'{"w": [1]}',
    b'{"w": [',
    b'{"w": [0.1], "row": 0, "w": [0.2]}',
    json.dumps({"w": COURSE_W, "row": 10**6}).encode(),
    json.dumps({"w": COURSE_W, "row": 0, "graph": "no-such-graph"}).encode(),
    b"",
]
PATHS = ["/forward", "/backward", "/gradcheck", "/graphs/check"]
GETS = ["/health", "/version", "/graph", "/graphs"]


@pytest.fixture
def twins(in_process: bool) -> Iterator[tuple[TestClient, TestClient]]:
    """The app, and the same app with no direct route (every request takes FastAPI's path)."""
    if not in_process:
        pytest.skip("builds in-process apps")
    from service.main import create_app

    plain_app = create_app()
    plain_app.state.direct_routes = {}
    with TestClient(create_app()) as direct, TestClient(plain_app) as plain:
        yield direct, plain


def test_the_cheap_routes_are_answered_by_the_layer(in_process: bool) -> None:
    if not in_process:
        pytest.skip("reads the in-process app")
    from service.api.route_classes.json_body import direct_routes
    from service.main import app

    routes = direct_routes(app)
    assert {("POST", path) for path in PATHS} <= set(routes)
    assert {("GET", path) for path in GETS} <= set(routes)
    assert ("POST", "/graph") not in routes  # it has a dependency (Accept)
    assert ("GET", "/ready") not in routes  # it takes the request
    assert ("GET", "/dataset") not in routes  # it takes query parameters


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("body", BODIES)
def test_a_direct_route_answers_exactly_as_the_framework_s_path(
    twins: tuple[TestClient, TestClient], path: str, body: bytes
) -> None:
    direct, plain = twins
    ours = direct.post(path, content=body, headers=JSON)
    theirs = plain.post(path, content=body, headers=JSON)
    assert ours.status_code == theirs.status_code
    assert ours.content == theirs.content
    for name in ("content-type", "content-length"):
        assert ours.headers.get(name) == theirs.headers.get(name)
    assert re.fullmatch(r"[0-9a-f]{32}", ours.headers["x-request-id"])


@pytest.mark.parametrize("path", GETS)
def test_a_direct_get_answers_exactly_as_the_framework_s_path(
    twins: tuple[TestClient, TestClient], path: str
) -> None:
    direct, plain = twins
    ours, theirs = direct.get(path), plain.get(path)
    assert ours.status_code == theirs.status_code == 200
    assert ours.content == theirs.content
    for name in ("content-type", "content-length"):
        assert ours.headers.get(name) == theirs.headers.get(name)
    assert direct.head(path).status_code == plain.head(path).status_code


def test_a_direct_route_takes_a_body_without_content_type_as_fastapi_does(
    twins: tuple[TestClient, TestClient],
) -> None:
    direct, plain = twins
    body = json.dumps(POINT).encode()
    ours = direct.post("/forward", content=body)
    theirs = plain.post("/forward", content=body)
    assert ours.status_code == theirs.status_code
    assert ours.content == theirs.content


def test_a_bug_in_a_direct_route_is_a_500_problem_with_the_id(
    in_process: bool, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    if not in_process:
        pytest.skip("breaks an in-process route")
    from service.api.route_classes.json_body import DirectRoute
    from service.main import create_app

    async def broken(raw: bytes, content_type: str | None) -> bytes:
        raise RuntimeError("internal detail 2.71828")

    app = create_app()
    app.state.direct_routes = {("POST", "/forward"): DirectRoute(broken, 200)}
    with (
        caplog.at_level(logging.INFO, logger="service"),
        TestClient(app, raise_server_exceptions=False) as local,
    ):
        response = local.post("/forward", json=POINT, headers={"X-Request-ID": "trace-bug"})
    assert response.status_code == 500
    assert response.json()["type"] == "/problems/internal"
    assert "2.71828" not in response.text
    assert response.headers["x-request-id"] == "trace-bug"
    (line,) = [r for r in caplog.records if r.name == "service.access"]
    assert line.fields["status"] == 500  # type: ignore[attr-defined]


def test_direct_routes_still_need_a_key(client: Any, override: Any) -> None:
    override(api_keys="layer-key-123")
    refused = client.post("/forward", json=POINT)
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith("Bearer")
    assert refused.headers["x-request-id"]
    allowed = client.post("/forward", json=POINT, headers={"Authorization": "Bearer layer-key-123"})
    assert allowed.status_code == 200


def test_direct_routes_still_refuse_unknown_query_parameters(client: Any) -> None:
    response = client.post("/forward?debug=1", json=POINT)
    assert response.status_code == 422
    assert "debug" in response.text


def _sample(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + "{"):
            found = dict(re.findall(r'(\w+)="([^"]*)"', line.rsplit(" ", 1)[0]))
            if found == labels:
                return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_name_templates_unknown_paths_none_and_skip_metrics(
    client: Any, in_process: bool
) -> None:
    if not in_process:
        pytest.skip("metrics are per process")
    before = client.get("/metrics").text
    client.get("/graphs/course")
    client.get("/no/such/path")
    client.get("/metrics")
    after = client.get("/metrics").text

    def grew(**labels: str) -> float:
        return _sample(after, "http_requests_total", **labels) - _sample(
            before, "http_requests_total", **labels
        )

    assert grew(handler="/graphs/{name}", method="GET", status="200") == 1
    assert grew(handler="none", method="GET", status="404") == 1
    assert grew(handler="/metrics", method="GET", status="200") == 0
    count = "http_request_duration_seconds_count"
    labels = {"handler": "/graphs/{name}", "method": "GET", "status": "200"}
    assert _sample(after, count, **labels) - _sample(before, count, **labels) == 1


def test_a_request_without_length_or_chunks_is_not_read(in_process: bool) -> None:
    """No Content-Length and no Transfer-Encoding: no body (RFC 9112), and no read of one."""
    if not in_process:
        pytest.skip("calls the in-process app")
    from service.api.middleware.body import read_body

    async def receive() -> dict[str, Any]:
        raise AssertionError("nothing to read")

    async def send(message: dict[str, Any]) -> None:
        raise AssertionError("nothing to answer")

    scope = {"type": "http", "method": "GET", "path": "/health", "headers": []}
    body = asyncio.run(read_body(scope, receive, send, 1024))
    assert body is not None
    assert body.raw is None


def test_a_body_is_read_until_its_content_length_and_no_further(in_process: bool) -> None:
    """granian hands over the data with more_body True, then an empty last message: with a
    Content-Length met, the layer does not wait for that second read; without one (chunked) it
    reads to the end."""
    if not in_process:
        pytest.skip("calls the in-process app")
    from service.api.middleware.body import read_body

    def receiver(messages: list[dict[str, Any]]) -> Any:
        async def receive() -> dict[str, Any]:
            if not messages:
                raise AssertionError("read past the body")
            return messages.pop(0)

        return receive

    async def send(message: dict[str, Any]) -> None:
        raise AssertionError("nothing to answer")

    json_type = (b"content-type", b"application/json")
    parts = [b'{"w": ', b"[1]}"]
    length = [(b"content-length", b"10"), json_type]
    waiting = [{"type": "http.request", "body": part, "more_body": True} for part in parts]
    body = asyncio.run(read_body({"headers": length}, receiver(list(waiting)), send, 1024))
    assert body is not None
    assert body.raw == b'{"w": [1]}'
    chunked = [(b"transfer-encoding", b"chunked"), json_type]
    last = {"type": "http.request", "body": b"", "more_body": False}
    messages = [*waiting, last]
    body = asyncio.run(read_body({"headers": chunked}, receiver(messages), send, 1024))
    assert body is not None
    assert body.raw == b'{"w": [1]}'
    assert messages == []  # read to the last message


def test_fresh_request_ids_are_unique_hex(client: Any) -> None:
    ids = {client.get("/health").headers["x-request-id"] for _ in range(50)}
    assert len(ids) == 50
    assert all(re.fullmatch(r"[0-9a-f]{32}", rid) for rid in ids)


def test_log_lines_are_written_in_batches_and_warnings_at_once() -> None:
    from service.logs import BatchedLines, JsonLines

    stream = io.StringIO()
    handler = BatchedLines()
    handler.setStream(stream)
    handler.setFormatter(JsonLines())
    logger = logging.getLogger("test.batched")
    logger.propagate = False
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        for i in range(3):
            logger.info("line %d", i)
        assert len(handler.pending) <= 3
        logger.warning("now")  # written at once, with the lines before it, in order
        lines = [json.loads(line) for line in stream.getvalue().splitlines()]
        assert [line["msg"] for line in lines] == ["line 0", "line 1", "line 2", "now"]
        assert not handler.pending
        logger.info("later")
        handler.flush()
        assert json.loads(stream.getvalue().splitlines()[-1])["msg"] == "later"
        stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00"
        assert re.fullmatch(stamp, lines[0]["ts"])
    finally:
        logger.removeHandler(handler)


def test_the_access_line_written_directly_is_the_one_logging_writes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With only the service's BatchedLines listening, the layer formats the access line itself
    (no LogRecord): the same line, byte for byte, as logging writes once another handler listens
    and the record path is taken."""
    import types

    from service.api.middleware import context
    from service.logs import REQUEST_ID, BatchedLines, JsonLines

    stream = io.StringIO()
    handler = BatchedLines()
    handler.setStream(stream)
    handler.setFormatter(JsonLines())
    records: list[logging.LogRecord] = []
    listener = logging.Handler()
    listener.emit = records.append  # type: ignore[method-assign]
    service = logging.getLogger("service")
    monkeypatch.setattr(service, "handlers", [handler])
    monkeypatch.setattr(logging.getLogger(), "handlers", [])
    monkeypatch.setattr(context, "time", types.SimpleNamespace(time=lambda: 1764669845.0429))
    level = service.level
    service.setLevel(logging.INFO)
    token = REQUEST_ID.set("rid-1")
    scope = {"method": "POST", "path": "/forward"}
    try:
        assert context.sole_handler(context.log, logging.INFO) is handler
        context.log_access("rid-1", scope, 200, 0.0012345)
        assert not records
        logging.getLogger("service.access").addHandler(listener)  # now the record path
        assert context.sole_handler(context.log, logging.INFO) is None
        context.log_access("rid-1", scope, 200, 0.0012345)
        logging.getLogger("service.access").removeHandler(listener)
        handler.flush()
    finally:
        REQUEST_ID.reset(token)
        service.setLevel(level)
        logging.getLogger("service.access").removeHandler(listener)
    direct, through_logging = stream.getvalue().splitlines()
    assert len(records) == 1
    assert direct == through_logging
    assert json.loads(direct) == {
        "ts": "2025-12-02T10:04:05.042+00:00",
        "level": "INFO",
        "logger": "service.access",
        "msg": "request",
        "request_id": "rid-1",
        "method": "POST",
        "path": "/forward",
        "status": 200,
        "duration_ms": 1.234,
    }
