# syntax=docker/dockerfile:1
# backprop-service: one server process per container (scale with replicas, see docker-compose.yml).

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY service ./service
RUN python -m venv /opt/venv && /opt/venv/bin/pip install .

FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    NUMBA_CACHE_DIR=/var/cache/backprop/numba \
    BACKPROP_NUMBA_CACHE_DIR=/var/cache/backprop/numba \
    MPLCONFIGDIR=/var/cache/backprop/matplotlib
COPY --from=build /opt/venv /opt/venv
RUN useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin app \
    && install -d -o app -g app -m 0755 /var/cache/backprop \
        /var/cache/backprop/numba /var/cache/backprop/matplotlib
# Numeric, so that a runtime enforcing non-root (e.g. Kubernetes' runAsNonRoot) can verify it.
USER 10001:10001
WORKDIR /tmp
# Compile the training kernel into numba's cache now, as the user that will run it: the folder
# stays writable for it (numba ignores a cache folder it cannot write and compiles at every
# start, ~15 s) and start-up only loads it (~1 s). The same RUN compiles every preset other than
# the course (the package's, and BACKPROP_GRAPHS_DIR's if set here) with all its training loops
# into the graph cache under that folder (~20 s a preset), so that every replica's first training
# of a preset loads its loop (milliseconds) instead of compiling it (seconds). numba keys the
# cache by CPU: on a host of another CPU model the first start compiles once more. Importing
# matplotlib's font manager builds its font cache (else the first picture of every container
# spends seconds on it).
RUN python -m service.warmup && python -c "import matplotlib.font_manager"

EXPOSE 8000
# No curl in slim images: ask /ready with the standard library.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/ready', timeout=2).status == 200 else 1)"]
# The same command as outside the image: every server flag lives in service/cli.py (granian with
# uvloop, no WebSocket protocol, no server access log, 64 KiB header cap, BACKPROP_REQUEST_TIMEOUT_S,
# BACKPROP_MAX_CONNECTIONS, 60 s for in-flight requests after SIGTERM). Here it binds every
# interface and trusts X-Forwarded-For/-Proto from the proxy in front (nginx in docker-compose.yml).
CMD ["backprop-service", "--host", "0.0.0.0", "--port", "8000", "--forwarded-allow-ips", "*"]
