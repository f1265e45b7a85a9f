# Probation Digest: `digest serve` (scheduler + web) as a non-root user.
# Config by a mounted file (/config/digest.yml), secrets by environment, state in the /data volume.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DIGEST_CONFIG=/config/digest.yml

WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY digest digest
COPY templates templates
RUN pip install -c constraints.txt . \
    && useradd --system --uid 10001 --home /data digest \
    && mkdir -p /data /config && chown digest /data

USER digest
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=60s --timeout=10s --start-period=30s --retries=3 \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=8)"
STOPSIGNAL SIGTERM
CMD ["digest", "serve", "--host", "0.0.0.0", "--port", "8080"]
