"""docker-compose.yml's topology with real processes on loopback: 2 replicas + nginx.

Run from anywhere: ``python scripts/topology.py``. The replicas are `backprop-service` processes
(bench.harness.server_command, the Dockerfile's command). Needs Debian's nginx and wrk (.ci/run);
installs nothing. Renders deploy/nginx/backprop.conf.template for loopback ports, runs nginx in the
foreground with a temporary prefix (as root its workers run as nobody; as any other user it runs as
that user), waits for /ready through nginx, runs api_tests through nginx, then runs mixed load
through nginx twice: one replica SIGTERMed and restarted in the middle (every request must
succeed), then one SIGKILLed in the middle (every request must succeed but the responses the
killed replica had already begun to send, which nginx cannot retry and logs as cut). The load
runs even when api_tests failed; the exit code then reports all. Before the load, a /train event
stream is read through nginx: its progress events must arrive while the run goes on, not all at
once with the result (nginx does not buffer event streams: the app sends X-Accel-Buffering: no).
Stops everything on exit (also on Ctrl-C or SIGTERM) and exits non-zero on any failure.
Ports: BACKPROP_TOPOLOGY_PORT (nginx, default 18300) and the next two for the replicas.
Bounds: BACKPROP_TOPOLOGY_TESTS_TIMEOUT (api_tests, default 600 s) and BACKPROP_TOPOLOGY_DEADLINE
(the whole run, default 900 s); without api_tests the run takes about a minute.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import (  # noqa: E402
    HOST,
    ROOT,
    describe,
    request_mix,
    socket_errors,
    start_server,
    start_wrk,
    stop,
    wait_ready,
    write_mix,
    wrk_result,
)

TEMPLATE = ROOT / "deploy" / "nginx" / "backprop.conf.template"
STREAM_GAP_S = 0.3  # the first progress event at least this long before the result
LOAD_SECONDS = 12
STOP_AFTER = 4
CONNECTIONS = 32
# nginx's words for a replica that died after its response header went out: too late to retry.
CUT_MID_RESPONSE = "upstream prematurely closed connection while reading upstream"
# Hard bounds: the whole run, and api_tests within it (the suite grows; its time is its own).
DEADLINE_SECONDS = int(os.environ.get("BACKPROP_TOPOLOGY_DEADLINE", "900"))
TESTS_TIMEOUT = int(os.environ.get("BACKPROP_TOPOLOGY_TESTS_TIMEOUT", "600"))

MAIN_CONF = """\
{user}worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    log_format upstreams '$status|$upstream_addr|$upstream_status|$request_time';
    access_log {prefix}/access.log upstreams;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    include {prefix}/backprop.conf;
}}
"""


def nginx_binary() -> str:
    """Debian's nginx (in /usr/sbin, which a non-root PATH may lack)."""
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        raise SystemExit("FAIL: nginx is not installed (apt-get install nginx)")
    return found


def render(prefix: Path, port: int, backends: list[int]) -> Path:
    """Write nginx.conf and the repository's snippet, filled in for loopback, into prefix."""
    snippet = TEMPLATE.read_text()
    values = {
        "LISTEN_PORT": f"{HOST}:{port}",
        "BACKEND_1": f"{HOST}:{backends[0]}",
        "BACKEND_2": f"{HOST}:{backends[1]}",
    }
    for name, value in values.items():
        snippet = snippet.replace("${" + name + "}", value)
    (prefix / "backprop.conf").write_text(snippet)
    user = ""
    if os.geteuid() == 0:  # workers drop to nobody; they must reach the temp dirs in prefix
        nobody = pwd.getpwnam("nobody")
        user = f"user nobody {grp.getgrgid(nobody.pw_gid).gr_name};\n"
        prefix.chmod(0o755)
    conf = prefix / "nginx.conf"
    conf.write_text(MAIN_CONF.format(user=user, prefix=prefix))
    return conf


def upstream_report(access_log: Path, killed: str) -> tuple[Counter[str], int]:
    """Requests per upstream address list, and how many were retried after hitting `killed`."""
    tried: Counter[str] = Counter()
    rerouted = 0
    for line in access_log.read_text().splitlines():
        addresses = line.split("|")[1]
        tried[addresses] += 1
        rerouted += killed in addresses and "," in addresses
    return tried, rerouted


def load_with(
    base: str, mix_file: Path, prefix: Path, title: str, action: Callable[[], str]
) -> tuple[dict[str, Any], int]:
    """Mixed load through nginx with `action` done STOP_AFTER s in; wrk's result, non-2xx count."""
    print(f"== {LOAD_SECONDS} s of mixed load through nginx; {title} at {STOP_AFTER} s", flush=True)
    for log in ("access.log", "error.log"):  # nginx appends (O_APPEND): truncating is enough
        (prefix / log).write_text("")
    wrk = start_wrk(base, mix_file, LOAD_SECONDS, connections=CONNECTIONS)
    time.sleep(STOP_AFTER)
    print(action(), flush=True)
    result = wrk_result(wrk, timeout=LOAD_SECONDS + 70)
    print(describe(result))
    time.sleep(0.5)  # let nginx flush its logs
    failed = sum(n for status, n in result["statuses"].items() if not 200 <= status < 300)
    return result, failed


def report_upstreams(prefix: Path, stopped: str) -> None:
    """Print requests per upstream address list, and how many nginx retried off `stopped`."""
    tried, rerouted = upstream_report(prefix / "access.log", stopped)
    print("requests per upstream(s) tried, from nginx's access log:")
    for upstreams, n in tried.most_common():
        print(f"  {n:7d}  {upstreams}")
    print(f"requests nginx retried on the other replica: {rerouted}")


def rolling_restart(
    base: str,
    backends: list[int],
    replicas: list[subprocess.Popen[bytes]],
    processes: list[subprocess.Popen[bytes]],
    mix_file: Path,
    prefix: Path,
) -> bool:
    """SIGTERM one replica under load, then start it again: no request may fail."""

    def restart() -> str:
        started = time.monotonic()
        stop(replicas[1], signal.SIGTERM, timeout=70)
        code, seconds = replicas[1].returncode, time.monotonic() - started
        replicas[1] = start_server(backends[1], prefix / f"replica-{backends[1]}-again.log")
        processes.append(replicas[1])
        return f"SIGTERM: replica {backends[1]} exited ({code}) in {seconds:.1f} s; restarted"

    result, failed = load_with(base, mix_file, prefix, "SIGTERM a replica", restart)
    report_upstreams(prefix, f"{HOST}:{backends[1]}")
    wait_ready(f"http://{HOST}:{backends[1]}", replicas[1])
    ok = failed == 0 and socket_errors(result) == 0 and result["requests"] > 0
    print(
        f"{'PASS' if ok else 'FAIL'}: rolling restart: {result['requests']} requests, "
        f"{failed} non-2xx, {socket_errors(result)} socket errors (none allowed)"
    )
    return ok


def crash(
    base: str,
    backends: list[int],
    replicas: list[subprocess.Popen[bytes]],
    mix_file: Path,
    prefix: Path,
) -> bool:
    """SIGKILL one replica under load: only responses it had begun to send may be lost."""

    def kill() -> str:
        replicas[1].kill()
        return f"SIGKILL: the replica on port {backends[1]}"

    result, failed = load_with(base, mix_file, prefix, "SIGKILL a replica", kill)
    report_upstreams(prefix, f"{HOST}:{backends[1]}")
    # A response whose header nginx had already passed on cannot be retried by any proxy: its
    # client sees the connection close (wrk: a read error). Every other request must succeed.
    cut = (prefix / "error.log").read_text().count(CUT_MID_RESPONSE)
    print(f"responses cut mid-way by the kill (nginx's error.log): {cut}")
    ok = failed == 0 and socket_errors(result) <= cut <= CONNECTIONS and result["requests"] > 0
    ok = ok and replicas[0].poll() is None
    print(
        f"{'PASS' if ok else 'FAIL'}: replica killed mid-load: {result['requests']} requests, "
        f"{failed} non-2xx, {socket_errors(result)} socket errors ({cut} allowed: cut mid-response)"
    )
    return ok


def stream_through(base: str) -> bool:
    """Read a /train event stream through nginx: progress must arrive while the run goes on.

    Had nginx buffered the stream, every event would arrive at once with the result; here the
    first progress event must come at least STREAM_GAP_S before the result (the run takes ~1 s).
    """
    print("== an event stream through nginx (POST /train, Accept: text/event-stream)", flush=True)
    body = {"optimizer": "adam", "epochs": 10_000}
    headers = {"Accept": "text/event-stream"}
    arrivals: list[tuple[float, str]] = []
    start = time.monotonic()
    with httpx.stream("POST", f"{base}/train", json=body, headers=headers, timeout=120) as answer:
        buffering = answer.headers.get("x-accel-buffering")
        for line in answer.iter_lines():
            if line.startswith("event:"):
                arrivals.append((time.monotonic() - start, line.partition(":")[2].strip()))
    progress = [t for t, kind in arrivals if kind == "progress"]
    results = [t for t, kind in arrivals if kind == "result"]
    print(
        f"status {answer.status_code}, X-Accel-Buffering {buffering}: {len(progress)} progress "
        f"events, the first at {progress[0] if progress else float('nan'):.2f} s; result at "
        f"{results[0] if results else float('nan'):.2f} s"
    )
    ok = answer.status_code == 200 and len(results) == 1 and len(progress) >= 2
    ok = ok and progress[0] + STREAM_GAP_S <= results[0] and arrivals[-1][1] == "result"
    if not ok:
        print("FAIL: the event stream did not pass through nginx as it was produced")
    return ok


def main() -> int:
    """Bring the topology up, test it, break it, take it down."""
    port = int(os.environ.get("BACKPROP_TOPOLOGY_PORT", "18300"))
    backends = [port + 1, port + 2]
    base = f"http://{HOST}:{port}"
    prefix = Path(tempfile.mkdtemp(prefix="backprop-topology-"))
    processes: list[subprocess.Popen[bytes]] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(f"FAIL: stopped by signal {signum} or the {DEADLINE_SECONDS} s deadline")

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGALRM):
        signal.signal(signum, on_signal)
    signal.alarm(DEADLINE_SECONDS)
    ok = False
    try:
        conf = render(prefix, port, backends)
        nginx = [
            nginx_binary(),
            "-p",
            str(prefix),
            "-c",
            str(conf),
            "-e",
            str(prefix / "error.log"),
        ]
        subprocess.run([*nginx, "-t", "-q"], check=True)
        replicas = [start_server(p, prefix / f"replica-{p}.log") for p in backends]
        processes += replicas
        processes.append(subprocess.Popen([*nginx, "-g", "daemon off;"]))
        for backend, proc in zip(backends, replicas, strict=True):
            wait_ready(f"http://{HOST}:{backend}", proc)
        wait_ready(base, timeout=10)
        print(f"nginx {base} -> replicas on ports {backends[0]} and {backends[1]}: ready")

        print(f"== api_tests through nginx (API_BASE_URL={base})", flush=True)
        started = time.monotonic()
        tests = subprocess.run(
            # The schemathesis fuzzing (marker fuzz) runs in-process in the main suite; through
            # nginx it would take minutes more of CI for little: the contract tests run here.
            [sys.executable, "-m", "pytest", "api_tests", "-q", "-p", "no:cacheprovider"]
            + ["-m", "not fuzz"],
            cwd=ROOT,
            env={**os.environ, "API_BASE_URL": base, "API_REPLICAS": "2"},
            timeout=TESTS_TIMEOUT,
        )
        print(
            f"api_tests through nginx: exit code {tests.returncode}, "
            f"{time.monotonic() - started:.0f} s"
        )
        if tests.returncode != 0:
            print(f"FAIL: api_tests through nginx exited with {tests.returncode}")

        streamed = stream_through(base)
        mix_file = write_mix(request_mix(base), prefix)
        restarted = rolling_restart(base, backends, replicas, processes, mix_file, prefix)
        crashed = crash(base, backends, replicas, mix_file, prefix)
        ok = restarted and crashed and streamed
        ok = ok and tests.returncode == 0
        return 0 if ok else 1
    finally:
        signal.alarm(0)
        for proc in reversed(processes):
            stop(proc, signal.SIGTERM, timeout=35)
        if ok:
            shutil.rmtree(prefix, ignore_errors=True)
        else:
            print(f"logs kept in {prefix}")
            for log in sorted(prefix.glob("*.log")):
                print(f"--- {log.name} (last lines)")
                print("\n".join(log.read_text(errors="replace").splitlines()[-15:]))


if __name__ == "__main__":
    raise SystemExit(main())
