# AceBet: a multi-stage uv build. The builder resolves the locked environment; the
# runtime image holds only that virtual environment: no uv, no compilers, non-root.
#
#   docker build -t acebet .
#   docker run --rm -v acebet-data:/data acebet demo
#
# Both base images are build arguments so a machine that cannot pull them can build
# with local stand-ins (see .ci/container-check).
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm
ARG UV_IMAGE=ghcr.io/astral-sh/uv:0.13.9

FROM ${UV_IMAGE} AS uv

FROM ${PYTHON_IMAGE} AS builder
COPY --from=uv /uv /uvx /bin/
# Compile bytecode once at build time (faster start-up); copy, don't hard-link, out of
# the cache mount; use the image's Python, never a downloaded one.
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /app
# Dependencies first, in their own layer: it is rebuilt only when the lock changes.
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    uv sync --locked --no-dev --no-install-project
# Then the project itself, installed as a wheel (not editable) so it needs no source tree.
COPY pyproject.toml uv.lock README.md /app/
COPY src /app/src
COPY sql /app/sql
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev --no-editable

FROM ${PYTHON_IMAGE} AS runtime
# LightGBM needs the GNU OpenMP runtime; tini is a minimal init for PID 1 that passes
# `docker stop`'s SIGTERM on to acebet and reaps children. The distribution's current
# builds are wanted.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 tini \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --system --uid 10001 --user-group --home-dir /data --no-create-home acebet \
    && mkdir -p /data && chown acebet:acebet /data
COPY --from=builder /app/.venv /app/.venv
ENV PATH="/app/.venv/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    ACEBET_DB=/data/acebet.duckdb \
    ACEBET_CACHE_DIR=/tmp/acebet-cache \
    ACEBET_LOG_FORMAT=json
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
# tini forwards SIGTERM: acebet rolls back, records the run as interrupted, exits 143.
ENTRYPOINT ["tini", "--", "acebet"]
CMD ["score"]
