"""`backprop-service`: start the server (uvicorn) with the built-in dataset."""

from __future__ import annotations

import argparse

import uvicorn


def main() -> None:
    """Parse --host/--port/--workers and run uvicorn on service.main:app."""
    parser = argparse.ArgumentParser(description="Run backprop-service.")
    parser.add_argument(
        "--host", default="127.0.0.1", help="Interface to bind (default 127.0.0.1)."
    )
    parser.add_argument("--port", type=int, default=8000, help="Port (default 8000).")
    parser.add_argument("--workers", type=int, default=1, help="Worker processes (default 1).")
    args = parser.parse_args()
    uvicorn.run(
        "service.main:app",
        host=args.host,
        port=args.port,
        workers=args.workers,
        loop="uvloop",
        http="httptools",
        ws="none",  # no WebSocket route: skip importing a WebSocket library at start
        access_log=False,
        timeout_graceful_shutdown=60,  # a maximal training finishes after SIGTERM
    )


if __name__ == "__main__":
    main()
