# syntax=docker/dockerfile:1
#
# ScopeGuard image: one image for the web app (the default CMD, gunicorn) and the
# worker (`scopeguard worker`). Build:   docker build -t scopeguard:dev .
#
# Runtime contract:
#   - config file mounted at /etc/scopeguard/scopeguard.yaml ($SCOPEGUARD_CONFIG);
#     secrets come from the environment, referenced in the config as ${VAR};
#   - instance folder (SQLite database, generated reports) at /var/lib/scopeguard:
#     set `instance_path: /var/lib/scopeguard` in the config;
#   - runs as the non-root user `scopeguard` (uid/gid 10001).

# --- builder: a wheel of the project, installed with its dependencies into a venv ---
FROM python:3.12-slim-bookworm AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /src
# .dockerignore lets in only pyproject.toml, README.md (when there is one) and src/.
COPY . ./

RUN python -m venv /opt/venv \
    && pip wheel --no-deps --wheel-dir /wheels . \
    && /opt/venv/bin/pip install --no-cache-dir /wheels/*.whl

# --- runtime ---
FROM python:3.12-slim-bookworm AS runtime

LABEL org.opencontainers.image.title="ScopeGuard" \
      org.opencontainers.image.description="Scope-creep and revision tracker for agency client projects in Jira"

# Shared libraries and a font that WeasyPrint (PDF reports) loads at run time.
# Versions are not pinned: Debian's point releases replace them in the archive, so
# pinned versions would break the build; the base image tag pins the release.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 \
        libpangoft2-1.0-0 \
        libharfbuzz0b \
        fonts-dejavu-core \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 scopeguard \
    && useradd --system --uid 10001 --gid scopeguard --home-dir /var/lib/scopeguard \
        --no-create-home --shell /usr/sbin/nologin scopeguard \
    && mkdir -p /etc/scopeguard /var/lib/scopeguard \
    && chown scopeguard:scopeguard /var/lib/scopeguard

COPY --from=builder /opt/venv /opt/venv

ENV PATH="/opt/venv/bin:${PATH}" \
    SCOPEGUARD_CONFIG=/etc/scopeguard/scopeguard.yaml \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MPLCONFIGDIR=/tmp/matplotlib \
    XDG_CACHE_HOME=/tmp/.cache

WORKDIR /var/lib/scopeguard
VOLUME ["/var/lib/scopeguard"]

USER 10001:10001

EXPOSE 8000

# No curl in the slim image: ask the app's /healthz with Python's standard library.
# (For a worker container, which serves no HTTP, disable it: --no-healthcheck.)
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"]

CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "2", "--access-logfile", "-", "scopeguard.entrypoints.web:create_app()"]
