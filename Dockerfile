# syntax=docker/dockerfile:1
# One image for every nbprod process: `nbprod scheduler`, `nbprod worker`, `nbprod browse`,
# a one-off `nbprod exec`, and the Dask scheduler and workers of the Dask executor (`dask`
# is on PATH). Kubernetes manifests and what was checked: docs/deploy.md.
#
#   docker build -t nbprod .
#   docker build -t nbprod --build-arg NBPROD_EXTRAS=postgres,dask,examples .
#   docker run --rm nbprod --help

ARG PYTHON_VERSION=3.11
ARG NODE_VERSION=20

# Node.js and npm, for the build stage only (copied from the official image, so the
# version is the one the extension is developed with; Debian's is older).
FROM node:${NODE_VERSION}-bookworm-slim AS node

# ---- build: the wheel (its build hook runs npm in jupyter_extension/) and a venv -----------
FROM python:${PYTHON_VERSION}-slim-bookworm AS build
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
    && node --version && npm --version
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# What the wheel is built from (pyproject.toml: readme, packages, shared-data, force-include).
COPY pyproject.toml README.md ./
COPY jupyter-config/ jupyter-config/
COPY jupyter_extension/ jupyter_extension/
COPY templates/ templates/
COPY nbprod/ nbprod/
# hatch-jupyter-builder runs `npm install` and `npm run build` (tsc, `jupyter labextension
# build`) in jupyter_extension/ inside pip's isolated build environment.
RUN pip wheel --no-deps --wheel-dir /wheels .
# The venv is copied whole into the runtime stage (same base image, same path).
ARG NBPROD_EXTRAS=postgres,dask
RUN python -m venv /opt/nbprod \
    && wheel="$(find /wheels -name 'nbprod-*.whl')" \
    && /opt/nbprod/bin/pip install "${wheel}[${NBPROD_EXTRAS}]" \
    && /opt/nbprod/bin/nbprod --version

# ---- runtime: Python, the venv, tini; no Node.js, no compiler ----------------------------
FROM python:${PYTHON_VERSION}-slim-bookworm AS runtime
# tini is PID 1: it reaps processes that notebooks leave behind and forwards SIGTERM and
# SIGINT to nbprod alone (not to the kernel: the worker decides what its kernel gets).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini \
    && rm -rf /var/lib/apt/lists/*
# A fixed numeric uid, so Kubernetes' runAsNonRoot can check it.
RUN groupadd --gid 10001 nbprod \
    && useradd --uid 10001 --gid 10001 --create-home --home-dir /home/nbprod \
        --shell /usr/sbin/nologin nbprod \
    && mkdir -p /data/nbprod \
    && chown nbprod:nbprod /data/nbprod
COPY --from=build /opt/nbprod /opt/nbprod
# NBPROD_HOME holds the spool (runs waiting for an unreachable store), the default
# SQLite catalog and store (single host only: use NBPROD_CATALOG=postgresql://... and
# NBPROD_STORE=s3://... for a team) and the browse UI's render cache.
ENV PATH=/opt/nbprod/bin:$PATH \
    NBPROD_HOME=/data/nbprod \
    PYTHONUNBUFFERED=1
VOLUME ["/data/nbprod"]
WORKDIR /home/nbprod
USER 10001:10001
# SIGTERM (docker stop, a Kubernetes pod deletion): `nbprod worker` finishes its current
# run and exits (no time limit of its own); `nbprod scheduler` stops firing, gives its
# local workers NBPROD_SHUTDOWN_GRACE (60 s) and then cancels their runs with the output
# stored; `nbprod exec` cancels its run (output stored, exit 130). Give the container
# longer than that before the SIGKILL: `docker stop -t`, terminationGracePeriodSeconds.
STOPSIGNAL SIGTERM
# No HEALTHCHECK: the image runs several process kinds. Schedulers and workers report
# their health as heartbeats in the catalog (`nbprod status`; a worker silent for
# NBPROD_LOST_AFTER has its run ended `lost` and retried); `nbprod browse` can be probed
# over HTTP on its port (docs/deploy.md).
ENTRYPOINT ["tini", "--", "nbprod"]
CMD ["--help"]
