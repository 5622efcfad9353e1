"""Bearer keys (BACKPROP_API_KEYS) and CORS (BACKPROP_CORS_ORIGINS)."""

from __future__ import annotations

import hmac
import logging
from typing import Any

import pytest

from api_tests.support.course import COURSE_W
from api_tests.support.hostile import assert_problem

KEYS = "first-key-3f9a,second-key-77c1"
POINT = {"w": COURSE_W, "row": 0}
PUBLIC = ["/health", "/ready", "/metrics", "/openapi.json", "/docs", "/redoc"]


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def keys(override: Any) -> None:
    """The in-process app requires one of KEYS in this test."""
    override(api_keys=KEYS)


@pytest.mark.usefixtures("keys")
@pytest.mark.parametrize(
    ("method", "path"), [("POST", "/forward"), ("GET", "/version"), ("GET", "/dataset")]
)
def test_without_a_key_the_api_answers_401_with_a_bearer_challenge(
    client: Any, method: str, path: str
) -> None:
    response = client.request(method, path, json=POINT if method == "POST" else None)
    problem = assert_problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "Authorization: Bearer" in problem["detail"]
    assert response.headers["x-request-id"]


@pytest.mark.usefixtures("keys")
@pytest.mark.parametrize(
    "header",
    ["Bearer wrong", "Bearer first-key-3f9", "Basic Zmlyc3Qta2V5LTNmOWE=", "first-key-3f9a"],
)
def test_a_wrong_key_or_scheme_is_a_401_that_never_echoes_it(client: Any, header: str) -> None:
    response = client.post("/forward", json=POINT, headers={"Authorization": header})
    assert_problem(response, 401, "unauthorized")
    assert header.split()[-1] not in response.text
    assert "first-key-3f9a" not in response.text


@pytest.mark.usefixtures("keys")
@pytest.mark.parametrize("key", KEYS.split(","))
def test_every_configured_key_is_accepted(client: Any, key: str) -> None:
    response = client.post("/forward", json=POINT, headers=_bearer(key))
    assert response.status_code == 200
    assert response.json()["exp"] == 1.1272967040973583


@pytest.mark.usefixtures("keys")
def test_the_scheme_name_is_case_insensitive(client: Any) -> None:
    response = client.post(
        "/forward", json=POINT, headers={"Authorization": "bearer first-key-3f9a"}
    )
    assert response.status_code == 200


@pytest.mark.usefixtures("keys")
@pytest.mark.parametrize("path", PUBLIC)
def test_probes_metrics_and_docs_need_no_key(client: Any, path: str) -> None:
    assert client.get(path).status_code == 200


@pytest.mark.usefixtures("keys")
@pytest.mark.parametrize("path", ["/no-such-thing", "/static/x.js", "/static/", "/docs/x"])
def test_unknown_paths_need_a_key_too(client: Any, path: str) -> None:
    assert_problem(client.get(path), 401, "unauthorized")


@pytest.mark.usefixtures("keys")
def test_the_docs_assets_need_no_key(client: Any) -> None:
    html = client.get("/docs").text
    asset = html.split('src="', 1)[1].split('"', 1)[0]
    assert asset.startswith("/static-offline-docs/")
    assert client.get(asset).status_code == 200


def test_keys_are_compared_with_every_configured_key_in_constant_time(
    override: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from service.api.middleware import auth

    calls: list[tuple[bytes, bytes]] = []
    compare = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return compare(a, b)

    monkeypatch.setattr(auth.hmac, "compare_digest", spy)
    settings = override(api_keys=KEYS)
    assert auth._known(b"first-key-3f9a", settings)
    assert len(calls) == 2  # no early exit on the first match


def test_keys_never_reach_the_log(
    client: Any, override: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from service.api.middleware.auth import announce

    settings = override(api_keys=KEYS)
    with caplog.at_level(logging.DEBUG):
        announce(settings)
        client.post("/forward", json=POINT, headers=_bearer("first-key-3f9a"))
        client.post("/forward", json=POINT, headers=_bearer("wrong-key-d00d"))
    text = repr([(r.getMessage(), r.__dict__) for r in caplog.records])
    assert caplog.records
    for secret in [*KEYS.split(","), "wrong-key-d00d"]:
        assert secret not in text
    assert secret not in repr(settings)


def test_without_keys_the_service_is_open_and_the_log_says_so(
    client: Any, override: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from service.api.middleware.auth import announce

    settings = override(api_keys="")
    assert client.post("/forward", json=POINT).status_code == 200
    with caplog.at_level(logging.WARNING, logger="service.auth"):
        announce(settings)
    assert any("BACKPROP_API_KEYS" in r.getMessage() for r in caplog.records)


def test_a_keyed_app_declares_the_bearer_scheme_on_protected_operations_only() -> None:
    from service.main import create_app
    from service.settings import Settings, get_settings

    keyed = create_app()
    keyed.dependency_overrides[get_settings] = lambda: Settings(api_keys=KEYS)
    spec = keyed.openapi()
    assert spec["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": spec["components"]["securitySchemes"]["bearer"]["description"],
    }
    assert spec["paths"]["/forward"]["post"]["security"] == [{"bearer": []}]
    assert "401" in spec["paths"]["/forward"]["post"]["responses"]
    assert "security" not in spec["paths"]["/health"]["get"]
    assert "401" not in spec["paths"]["/health"]["get"]["responses"]


def test_an_open_app_declares_no_security() -> None:
    from service.main import create_app
    from service.settings import Settings, get_settings

    open_app = create_app()
    open_app.dependency_overrides[get_settings] = lambda: Settings(api_keys="")
    spec = open_app.openapi()
    assert "securitySchemes" not in spec["components"]
    for operations in spec["paths"].values():
        for operation in operations.values():
            assert "security" not in operation
            assert "401" not in operation["responses"]


def test_cors_is_off_by_default(client: Any) -> None:
    preflight = {"Origin": "https://example.org", "Access-Control-Request-Method": "POST"}
    response = client.options("/forward", headers=preflight)
    assert "access-control-allow-origin" not in response.headers
    response = client.post("/forward", json=POINT, headers={"Origin": "https://example.org"})
    assert "access-control-allow-origin" not in response.headers


def test_cors_allows_exactly_the_configured_origins(
    in_process: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not in_process:
        pytest.skip("builds an app with other settings")
    from fastapi.testclient import TestClient

    from service.main import create_app
    from service.settings import get_settings

    monkeypatch.setenv("BACKPROP_CORS_ORIGINS", "https://course.example, https://other.example")
    monkeypatch.setenv("BACKPROP_API_KEYS", KEYS)
    get_settings.cache_clear()
    try:
        with TestClient(create_app()) as cors:
            allowed = {"Origin": "https://course.example", "Access-Control-Request-Method": "POST"}
            response = cors.options(
                "/forward", headers={**allowed, "Access-Control-Request-Headers": "authorization"}
            )
            assert response.status_code == 200  # a preflight carries no key
            assert response.headers["access-control-allow-origin"] == "https://course.example"
            denied = {**allowed, "Origin": "https://evil.example"}
            assert (
                "access-control-allow-origin"
                not in cors.options("/forward", headers=denied).headers
            )
            response = cors.post(
                "/forward", json=POINT, headers={"Origin": "https://course.example"}
            )
            assert response.status_code == 401  # CORS lets the browser read the refusal
            assert response.headers["access-control-allow-origin"] == "https://course.example"
            assert "x-request-id" in response.headers["access-control-expose-headers"].lower()
    finally:
        get_settings.cache_clear()
