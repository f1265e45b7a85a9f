# Probation Digest: `digest serve` (scheduler + web) as a non-root user.
# Config by a mounted file (/config/digest.yml), secrets by environment, state in the /data volume.
# BASE: any Debian-based image with python3 (3.11 or later) and its venv module; `make image` passes a local one
# where the registry cannot be reached.
ARG BASE=python:3.12-slim
FROM ${BASE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/digest/bin:$PATH \
    DIGEST_CONFIG=/config/digest.yml

WORKDIR /src
COPY pyproject.toml constraints.txt README.md digest.example.yml ./
COPY digest digest
COPY templates templates
# The README's install recipe, into a virtual environment of its own; then the source is not needed.
RUN python3 -m venv /opt/digest \
    && /opt/digest/bin/pip install --quiet -c constraints.txt . \
    && digest --version \
    && cd / && rm -rf /src \
    && useradd --system --uid 10001 --user-group --home-dir /data --no-create-home --shell /usr/sbin/nologin digest \
    && mkdir -p /data /config && chown digest:digest /data && chmod 0750 /data

WORKDIR /data
USER digest
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=60s --timeout=10s --start-period=30s --retries=3 \
  CMD ["python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=8)"]
STOPSIGNAL SIGTERM
CMD ["digest", "serve", "--host", "0.0.0.0", "--port", "8080"]
