"""`backprop-service`: the one way to start the server, locally and in the image.

The Dockerfile's CMD runs this command too (`backprop-service --host 0.0.0.0 ...`), so the
server's flags live here only, in `server_options`. The server is granian (Rust, hyper) rather
than uvicorn, because only granian protects the service without a proxy in front:

- headers over `MAX_HEADER_BYTES` (64 KiB) are refused with 431 (uvicorn's httptools parser has
  no limit: a 64 MB header was accepted). hyper checks the size between reads, so a header block
  that ends inside the read crossing 64 KiB can still pass: 65-70 KiB sometimes did, 72 KiB and
  more never did;
- headers not complete within BACKPROP_REQUEST_TIMEOUT_S close the connection (there is no
  request to answer yet); the same timeout closes idle keep-alive connections. A body not
  complete within it gets a 408 problem from service.api.middleware.timeouts (no server offers
  a body timeout);
- connections wait in Rust, off the Python event loop, so thousands of slow clients cost the
  loop nothing; `BACKPROP_MAX_CONNECTIONS` bounds how many one process holds (see settings.py
  for how the number was chosen).

Kept from the uvicorn command line: uvloop, no WebSocket protocol, no server access log (the app
logs JSON lines itself), 60 s for in-flight requests after SIGTERM, proxy headers trusted from
`--forwarded-allow-ips`. Measured against uvicorn by ``python -m bench.servers``.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import resource
import signal
from typing import Any

from granian.constants import HTTPModes, Interfaces, Loops
from granian.http import HTTP1Settings
from granian.server import Server
from granian.utils.proxies import wrap_asgi_with_proxy_headers

from service.settings import MAX_HEADER_BYTES, get_settings

GRACEFUL_SHUTDOWN_S = 60  # a maximal training finishes after SIGTERM (compose waits 75 s)
APP = "service.cli:proxied_app"
PR_SET_PDEATHSIG = 1  # <sys/prctl.h>


def die_with_parent() -> None:
    """Have the kernel SIGKILL this worker when granian's main process dies (Linux).

    A SIGKILLed main process cannot stop its workers, and one left behind keeps serving on the
    port: a crash would not look like one (to nginx, to scripts/topology.py, to a supervisor).
    """
    libc = ctypes.CDLL(None, use_errno=True)
    if hasattr(libc, "prctl"):
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() == 1:  # the parent died before the call
            os.kill(os.getpid(), signal.SIGKILL)


def proxied_app() -> Any:
    """service.main:app, trusting X-Forwarded-For/-Proto from BACKPROP_FORWARDED_ALLOW_IPS.

    Granian calls it in each worker process (the target is a factory).
    """
    die_with_parent()
    from service.main import app

    trusted = get_settings().forwarded_allow_ips
    return only_when_forwarded(app, list(trusted)) if trusted else app


def only_when_forwarded(app: Any, trusted: list[str]) -> Any:
    """granian's proxy-headers wrapper of `app`, called only for a request that carries
    X-Forwarded-For (without it the wrapper changes nothing, after parsing the client's address:
    ~2 µs a request, bench/middleware.py)."""
    wrapped = wrap_asgi_with_proxy_headers(app, trusted)

    def proxied(scope: Any, receive: Any, send: Any) -> Any:
        if scope["type"] == "http":
            for name, _ in scope["headers"]:
                if name == b"x-forwarded-for":
                    return wrapped(scope, receive, send)
            return app(scope, receive, send)
        return wrapped(scope, receive, send)

    return proxied


def server_options(host: str, port: int, workers: int) -> dict[str, Any]:
    """Everything the server is started with: the single source of its flags."""
    settings = get_settings()
    return {
        "target": APP,
        "factory": True,
        "address": host,
        "port": port,
        "workers": workers,
        "interface": Interfaces.ASGI,
        "loop": Loops.uvloop,
        "http": HTTPModes.http1,  # behind nginx or alone: HTTP/1.1; no h2c to parse
        "websockets": False,  # no WebSocket route
        "log_access": False,  # the app writes one JSON line per request itself
        "workers_kill_timeout": GRACEFUL_SHUTDOWN_S,
        # Connections beyond this wait in the kernel's accept queue (the backlog).
        "backpressure": settings.max_connections,
        "backlog": max(1024, settings.max_connections),
        "http1_settings": HTTP1Settings(
            header_read_timeout=round(settings.request_timeout_s * 1000),
            max_buffer_size=MAX_HEADER_BYTES,
        ),
    }


def raise_file_limit(connections: int) -> None:
    """Let the process hold `connections` sockets plus its own files, within the hard limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = connections + 256
    if soft != resource.RLIM_INFINITY and soft < wanted:
        top = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (top, hard))


def parser() -> argparse.ArgumentParser:
    """The command line: where to listen, how many workers, which proxies to trust."""
    parser = argparse.ArgumentParser(description="Run backprop-service.")
    parser.add_argument(
        "--host", default="127.0.0.1", help="Interface to bind (default 127.0.0.1)."
    )
    parser.add_argument("--port", type=int, default=8000, help="Port (default 8000).")
    parser.add_argument("--workers", type=int, default=1, help="Worker processes (default 1).")
    parser.add_argument(
        "--forwarded-allow-ips",
        default=None,
        help="Comma-separated proxy addresses (or '*') whose X-Forwarded-For/-Proto are "
        "trusted; default BACKPROP_FORWARDED_ALLOW_IPS, else 127.0.0.1.",
    )
    return parser


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and serve until SIGTERM or SIGINT."""
    args = parser().parse_args(argv)
    if args.forwarded_allow_ips is not None:
        # The workers build the app in their own processes: they read it from the environment.
        os.environ["BACKPROP_FORWARDED_ALLOW_IPS"] = args.forwarded_allow_ips
        get_settings.cache_clear()
    options = server_options(args.host, args.port, args.workers)
    raise_file_limit(options["backpressure"])
    Server(**options).serve()


if __name__ == "__main__":
    main()
