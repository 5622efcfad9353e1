"""The Dockerfile's image, rehearsed without Docker: ``python scripts/image_rehearsal.py``.

There is no Docker engine (nor registry) here, so this runs what the image would run, read from
the Dockerfile itself: the build stage's COPY sources installed (pip install .) into a fresh
venv; the final stage's ENV, its USER (as root: the same numeric uid/gid, else the current user)
owning the image's cache folders; its last RUN (the warm-up) as that user; then its CMD (the
port moved to a loopback one) polled with its HEALTHCHECK's own command. It fails unless the
container would become healthy within the HEALTHCHECK's start period, run as that user, start
from the warm cache without compiling again (numba's cache files unchanged), train the
cs231n_neuron preset (Adam, clipped SGD) without compiling its loops either, and stop cleanly on
SIGTERM. The image's absolute paths (/opt/venv, /var/cache/backprop) move under a temporary
folder. The venv's Python is a system-wide 3.11 as in the image (/usr/local there; here Debian's
/usr/bin/python3.11 with python3-venv, or BACKPROP_REHEARSAL_PYTHON), not one under /root that the
image's user could not read. Port: BACKPROP_REHEARSAL_PORT (default 18320). Takes 1-3 min (pip).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
IMAGE_PATHS = ("/opt/venv", "/var/cache/backprop")


def stages(dockerfile: Path) -> list[list[tuple[str, str]]]:
    """Each stage's (INSTRUCTION, arguments), continuation lines joined."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    found: list[list[tuple[str, str]]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        if word.upper() == "FROM":
            found.append([])
        found[-1].append((word.upper(), rest.strip()))
    return found


def last(stage: list[tuple[str, str]], name: str) -> str:
    """The arguments of the stage's last `name` instruction."""
    found = [rest for word, rest in stage if word == name]
    if not found:
        raise SystemExit(f"FAIL: the Dockerfile's final stage has no {name}")
    return found[-1]


def moved(value: str, home: Path) -> str:
    """`value` with the image's absolute paths moved under `home`."""
    for path in IMAGE_PATHS:
        value = value.replace(path, f"{home}{path}")
    return value


def environment(stage: list[tuple[str, str]], home: Path) -> dict[str, str]:
    """The final stage's ENV over a minimal base environment, paths moved under `home`."""
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/", "LANG": "C.UTF-8"}
    for word, rest in stage:
        if word == "ENV":
            for pair in shlex.split(rest):
                key, _, value = pair.partition("=")
                env[key] = moved(value.replace("$PATH", env["PATH"]), home)
    return env


def as_user(stage: list[tuple[str, str]]) -> dict[str, Any]:
    """Popen's user/group arguments for the stage's USER (uid:gid), when running as root."""
    if os.geteuid() != 0:
        return {}
    uid, _, gid = last(stage, "USER").partition(":")
    if not uid.isdigit() or not (gid or uid).isdigit():
        raise SystemExit("FAIL: USER should be numeric (uid:gid) so that non-root is verifiable")
    return {"user": int(uid), "group": int(gid or uid), "extra_groups": []}


def healthcheck(stage: list[tuple[str, str]]) -> tuple[list[str], dict[str, str]]:
    """The HEALTHCHECK's command (exec form) and its options (--start-period=30s, ...)."""
    rest = last(stage, "HEALTHCHECK")
    options_text, _, command = rest.partition("CMD ")
    options = dict(o.removeprefix("--").split("=", 1) for o in options_text.split())
    return json.loads(command), options


def seconds(duration: str) -> float:
    """Docker's duration ('30s', '1m') in seconds."""
    return float(duration[:-1]) * {"s": 1, "m": 60}[duration[-1]]


def on_port(command: list[str], port: int) -> list[str]:
    """`command` with port 8000 moved to `port` and 0.0.0.0 narrowed to loopback."""
    return [a.replace("8000", str(port)).replace("0.0.0.0", "127.0.0.1") for a in command]


def cache_files(folder: Path) -> dict[str, int]:
    """numba's cache files under `folder` with their modification times."""
    return {str(p): p.stat().st_mtime_ns for p in folder.rglob("*") if p.suffix in (".nbi", ".nbc")}


def check(ok: bool, message: str) -> bool:
    """Print a PASS/FAIL line; return ok."""
    print(f"{'PASS' if ok else 'FAIL'}: {message}", flush=True)
    return ok


def install(home: Path, build: list[tuple[str, str]], env: dict[str, str]) -> None:
    """The build stage: its COPY sources, installed (pip install .) into a venv at /opt/venv."""
    source = home / "src"
    for word, rest in build:
        if word == "COPY" and not rest.startswith("--"):
            *names, target = rest.split()
            for name in names:
                into = source / target / name if target.endswith("/") else source / target
                copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copyfile
                into.parent.mkdir(parents=True, exist_ok=True)
                copy(ROOT / name, into)
    venv = home / "opt" / "venv"
    python = os.environ.get("BACKPROP_REHEARSAL_PYTHON", "/usr/bin/python3.11")
    subprocess.run([python, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--quiet", "."],
        check=True,
        env={**os.environ, **{k: v for k, v in env.items() if k.startswith("PIP_")}},
        cwd=source,
    )


# A preset's trainings the warm-up compiled the loops of: Adam, and clipped SGD (a twin loop).
PRESET_TRAININGS = (
    {"optimizer": "adam", "epochs": 3},
    {"optimizer": "sgd", "epochs": 3, "clip_grad_norm": {"max_norm": 1.0}},
)


def train_presets(port: int, cache: Path, before: dict[str, int]) -> bool:
    """Train CS231n's preset through the server: answered from the warm cache, nothing compiled."""
    data = {"X": [[1.0, 2.0], [-1.0, 0.5]], "y": [0.0, 1.0]}
    ok = True
    for training in PRESET_TRAININGS:
        body = json.dumps({**training, "graph": "cs231n_neuron", "data": data}).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/train",
            data=body,
            headers={"Content-Type": "application/json"},
        )
        started = time.monotonic()
        with urllib.request.urlopen(request, timeout=60) as answer:
            status = answer.status
        took = time.monotonic() - started
        name = training["optimizer"] + (" clipped" if "clip_grad_norm" in training else "")
        ok = (
            check(status == 200, f"POST /train cs231n_neuron {name}: {status} in {took:.2f} s")
            and ok
        )
    same = cache_files(cache) == before
    return check(same, "the preset's trainings loaded their loops without compiling") and ok


def rehearse(home: Path, port: int) -> bool:
    """Install, warm, start, probe and stop the image's process; True when every check passed."""
    build, *_, stage = stages(ROOT / "Dockerfile")
    env = environment(stage, home)
    user = as_user(stage)
    print(f"== build stage: the COPY sources, pip install . into {home}/opt/venv", flush=True)
    install(home, build, env)
    caches = [Path(moved(p, home)) for p in IMAGE_PATHS[1:]]
    for folder in caches:  # the image's `install -d -o app -g app` of its cache folders
        for sub in ("", "numba", "matplotlib"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
            if user:
                os.chown(folder / sub, user["user"], user["group"])
    home.chmod(0o755)
    workdir = Path(tempfile.mkdtemp(prefix="workdir-", dir=home))
    if user:
        os.chown(workdir, user["user"], user["group"])
    warmup = last(stage, "RUN")
    print(f"== last RUN, as {user.get('user', 'the current user')}: {warmup}", flush=True)
    ran = subprocess.run(["/bin/sh", "-c", warmup], env=env, cwd=workdir, **user)
    ok = check(ran.returncode == 0, f"the warm-up RUN exited with {ran.returncode}")
    before = cache_files(caches[0])
    ok = check(bool(before), f"the warm-up wrote {len(before)} numba cache files") and ok
    fonts = list(Path(env["MPLCONFIGDIR"]).glob("fontlist-*.json"))
    ok = check(bool(fonts), "the warm-up wrote matplotlib's font cache") and ok

    probe, options = healthcheck(stage)
    command = on_port(json.loads(last(stage, "CMD")), port)
    print(f"== CMD: {shlex.join(command)}", flush=True)
    started = time.monotonic()
    log = (home / "server.log").open("wb")
    server = subprocess.Popen(command, env=env, cwd=workdir, stdout=log, stderr=log, **user)
    try:
        healthy = False
        while time.monotonic() - started < seconds(options.get("start-period", "30s")):
            answer = subprocess.run(
                on_port(probe, port), env=env, cwd=workdir, capture_output=True, **user
            )
            if answer.returncode == 0:
                healthy = True
                break
            if server.poll() is not None:
                break
            time.sleep(0.1)
        took = time.monotonic() - started
        ok = check(healthy, f"HEALTHCHECK passed {took:.1f} s after start") and ok
        status = Path(f"/proc/{server.pid}/status").read_text()
        uid = re.search(r"^Uid:\s+(\d+)", status, re.M)
        expected = user.get("user", os.geteuid())
        ok = check(uid is not None and int(uid[1]) == expected, f"runs as uid {expected}") and ok
        same = cache_files(caches[0]) == before
        ok = check(same, "start-up loaded numba's cache without compiling again") and ok
        if healthy:
            ok = train_presets(port, caches[0], before) and ok
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            code: int | None = server.wait(70)
        except subprocess.TimeoutExpired:
            server.kill()
            code = None
        log.close()
    ok = check(code in (0, -signal.SIGTERM), f"SIGTERM: the server exited ({code})") and ok
    if not ok:
        print((home / "server.log").read_text(errors="replace")[-3000:])
    return ok


def main() -> int:
    """Rehearse in a temporary folder; remove it unless something failed."""
    port = int(os.environ.get("BACKPROP_REHEARSAL_PORT", "18320"))
    home = Path(tempfile.mkdtemp(prefix="backprop-image-"))
    ok = False
    try:
        ok = rehearse(home, port)
        return 0 if ok else 1
    finally:
        if ok:
            shutil.rmtree(home, ignore_errors=True)
        else:
            print(f"kept {home}")


if __name__ == "__main__":
    raise SystemExit(main())
