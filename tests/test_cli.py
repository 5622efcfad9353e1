"""service/cli.py: the server's options, and the Dockerfile starting the same command."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from granian.constants import Interfaces, Loops

from service import cli
from service.settings import get_settings

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Environment changes seen by get_settings, undone (and its cache cleared) afterwards."""
    get_settings.cache_clear()
    yield monkeypatch
    monkeypatch.undo()
    get_settings.cache_clear()


def test_defaults_protect_without_a_proxy(settings_env: pytest.MonkeyPatch) -> None:
    options = cli.server_options("127.0.0.1", 8000, 1)
    assert options["http1_settings"].max_buffer_size == 64 * 1024
    assert options["http1_settings"].header_read_timeout == 30_000
    assert options["backpressure"] == get_settings().max_connections == 4096
    assert options["backlog"] >= options["backpressure"]


def test_kept_behaviours(settings_env: pytest.MonkeyPatch) -> None:
    options = cli.server_options("0.0.0.0", 8000, 2)
    assert options["interface"] == Interfaces.ASGI
    assert options["loop"] == Loops.uvloop
    assert options["websockets"] is False
    assert options["log_access"] is False
    assert options["workers_kill_timeout"] == 60
    assert (options["address"], options["port"], options["workers"]) == ("0.0.0.0", 8000, 2)


def test_timeout_and_connections_come_from_the_environment(
    settings_env: pytest.MonkeyPatch,
) -> None:
    settings_env.setenv("BACKPROP_REQUEST_TIMEOUT_S", "2.5")
    settings_env.setenv("BACKPROP_MAX_CONNECTIONS", "100")
    get_settings.cache_clear()
    options = cli.server_options("127.0.0.1", 8000, 1)
    assert options["http1_settings"].header_read_timeout == 2500
    assert options["backpressure"] == 100


def test_dockerfile_runs_the_cli_with_no_server_flags_of_its_own() -> None:
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    cmd = [line for line in text.splitlines() if line.startswith("CMD ")][-1]
    command = json.loads(cmd.removeprefix("CMD "))
    assert command[0] == "backprop-service"
    parsed = cli.parser().parse_args(command[1:])  # only flags the CLI itself defines
    assert (parsed.host, parsed.port, parsed.forwarded_allow_ips) == ("0.0.0.0", 8000, "*")


def test_proxy_headers_are_applied_only_when_forwarded() -> None:
    """A trusted proxy's X-Forwarded-For/-Proto reach the scope; a request without the header
    reaches the app with its scope as the server made it; an untrusted client's are ignored."""
    import asyncio

    seen: list[dict[str, object]] = []

    async def app(scope: dict[str, object], receive: object, send: object) -> None:
        seen.append(dict(scope))

    proxied = cli.only_when_forwarded(app, ["127.0.0.1"])

    def call(client: str, headers: list[tuple[bytes, bytes]]) -> dict[str, object]:
        scope = {"type": "http", "client": (client, 5000), "scheme": "http", "headers": headers}
        asyncio.run(proxied(scope, None, None))
        return seen[-1]

    forwarded = [(b"x-forwarded-for", b"203.0.113.7"), (b"x-forwarded-proto", b"https")]
    assert call("127.0.0.1", forwarded)["client"] == ("203.0.113.7", 0)
    assert seen[-1]["scheme"] == "https"
    plain = call("127.0.0.1", [(b"x-forwarded-proto", b"https")])
    assert (plain["client"], plain["scheme"]) == (("127.0.0.1", 5000), "http")
    untrusted = call("198.51.100.2", forwarded)
    assert (untrusted["client"], untrusted["scheme"]) == (("198.51.100.2", 5000), "http")
