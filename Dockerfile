# syntax=docker/dockerfile:1
#
# ScopeGuard: one image, three commands. tini is PID 1 and `scopeguard` the entrypoint:
#
#   docker run IMAGE                 scopeguard serve        gunicorn on :8000, /healthz also on :8001
#   docker run IMAGE worker          scopeguard worker       sync, alert dispatch, monthly reports
#   docker run IMAGE db upgrade      scopeguard db upgrade   migrate the schema, once per release
#
# (and any other `scopeguard` command: `docker run IMAGE check-config`, `db current`…)
#
# Build:  docker build --build-arg SOURCE_URL=https://<where the source is> -t scopeguard:0.1.0 .
#
# Runtime contract (README.md, "Deployment"):
#   - the configuration file is mounted at /etc/scopeguard/scopeguard.yaml ($SCOPEGUARD_CONFIG),
#     with `instance_path: /var/lib/scopeguard`;
#   - secrets come from the environment or, better, from files: for ${VAR} in the
#     configuration, VAR_FILE=/run/secrets/… names a file that wins over VAR;
#   - /var/lib/scopeguard (a volume) holds the SQLite database and the archived reports;
#   - runs as the non-root user `scopeguard` (uid/gid 10001) and works on a read-only root
#     filesystem given a writable /tmp (caches: matplotlib, fontconfig).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- builder: the project and its dependencies installed into a virtualenv ---
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /src
# Exactly what building the package reads (pyproject.toml names README.md and LICENSE);
# .dockerignore lets in nothing else.
COPY pyproject.toml README.md LICENSE ./
COPY src ./src

# Every dependency ships manylinux wheels, so the builder needs no compiler; the wheel
# build itself runs in pip's isolated environment with the setuptools pyproject asks for.
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir /src

# --- runtime: Python, the virtualenv, and the shared libraries WeasyPrint loads ---
FROM ${PYTHON_IMAGE} AS runtime

# Keep in step with pyproject.toml's version (tests/integration/test_image.py checks).
ARG VERSION=0.1.0
ARG SOURCE_URL=""
LABEL org.opencontainers.image.title="ScopeGuard" \
      org.opencontainers.image.description="Scope-creep and revision tracker for agency client projects in Jira" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.source="${SOURCE_URL}" \
      org.opencontainers.image.licenses="Apache-2.0"

# tini: PID 1, forwards SIGTERM to gunicorn or the worker and reaps orphans.
# Pango, pangoft2 and HarfBuzz's subsetter are what WeasyPrint (PDF reports) dlopens
# (they bring GLib, fontconfig and FreeType); DejaVu is the reports' font and covers
# Cyrillic. matplotlib ships its own fonts.
# Versions are not pinned: Debian's point releases replace them in the archive, so
# pinned versions would break the build; the base image tag pins the release.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        tini \
        libpango-1.0-0 \
        libpangoft2-1.0-0 \
        libharfbuzz-subset0 \
        fonts-dejavu-core \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 scopeguard \
    && useradd --system --uid 10001 --gid scopeguard --home-dir /var/lib/scopeguard \
        --no-create-home --shell /usr/sbin/nologin scopeguard \
    && mkdir -p /etc/scopeguard /var/lib/scopeguard/reports \
    && chown -R scopeguard:scopeguard /var/lib/scopeguard

COPY --from=builder /opt/venv /opt/venv

# SCOPEGUARD_HOST: `scopeguard serve` listens on every interface of the container.
# SCOPEGUARD_HEALTH_PORT: gunicorn's master answers /healthz there however busy the
# workers are (liveness probes and the HEALTHCHECK ask it; publish only 8000).
# MALLOC_ARENA_MAX=1: glibc gives each thread that allocates an arena of its own, and
# memory freed in a Jira reader thread's arena is not reused by the thread that
# refreshes the snapshot after the sync. CPython allocates with the GIL held, so
# one arena costs no contention worth measuring; it cut a 20,000-issue sync's peak
# RSS from ~320 to ~270 MB (benchmarks/sync.py runs its syncs the same way).
ENV PATH="/opt/venv/bin:${PATH}" \
    MALLOC_ARENA_MAX=1 \
    SCOPEGUARD_CONFIG=/etc/scopeguard/scopeguard.yaml \
    SCOPEGUARD_HOST=0.0.0.0 \
    SCOPEGUARD_PORT=8000 \
    SCOPEGUARD_HEALTH_PORT=8001 \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MPLCONFIGDIR=/tmp/matplotlib \
    XDG_CACHE_HOME=/tmp/.cache

WORKDIR /var/lib/scopeguard
VOLUME ["/var/lib/scopeguard"]

USER 10001:10001

EXPOSE 8000 8001

# Asks /healthz only when the container runs `serve` (it reads PID 1's command line), on
# the health port; a worker or `db upgrade` container is healthy while its process runs.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-m", "scopeguard.entrypoints.healthcheck"]

ENTRYPOINT ["/usr/bin/tini", "--", "scopeguard"]
CMD ["serve"]
