# syntax=docker/dockerfile:1.7
# One image for all taskstream processes. The process is chosen by the first argument,
# exactly as `npm start -- <process>` does locally:
#   docker run IMAGE ingest | processors | scheduler | fanout | all | migrate | topics
# Build:  docker build -t taskstream:0.1.0 .
# Node is pinned to 20 (see README: uWebSockets.js build, hyper-express 6, slonik 47).
# Pin by digest in production: NODE_IMAGE=node:20.20.2-bookworm-slim@sha256:...
ARG NODE_IMAGE=node:20.20.2-bookworm-slim

# ---- deps: production node_modules, librdkafka linked dynamically against Debian libs ----
FROM ${NODE_IMAGE} AS deps
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      python3 make g++ libssl-dev zlib1g-dev libzstd-dev libsasl2-dev ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# CKJS_LINKING=dynamic: @confluentinc/kafka-javascript builds librdkafka against the
# system OpenSSL/zlib/zstd/SASL instead of downloading them (no GitHub access needed).
# tsx is a production dependency: the processes run TypeScript directly.
ENV CKJS_LINKING=dynamic
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --no-audit --no-fund \
 && node -e "require('@confluentinc/kafka-javascript')"

# ---- runtime ----
FROM ${NODE_IMAGE} AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libssl3 zlib1g libzstd1 libsasl2-2 ca-certificates tini \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    INGEST_PORT=8080 \
    PROCESSORS_PORT=8081 \
    SCHEDULER_PORT=8082 \
    FANOUT_PORT=8090
WORKDIR /app
COPY --from=deps --chown=1000:1000 /app/node_modules ./node_modules
# Application source (see .dockerignore for what stays out: tests' data, deploy tooling, IaC).
COPY --chown=1000:1000 . .
# The `node` user of the official image (uid/gid 1000); numeric so that Kubernetes
# runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 8080 8081 8082 8090
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "/app/deploy/healthcheck.mjs"]
# tini is PID 1: it forwards SIGTERM to node (graceful drain, SHUTDOWN_TIMEOUT_MS) and
# reaps zombies. `node --import tsx bin/taskstream.ts` is what `npm start --` runs,
# without npm and tsx's watcher process in between.
ENTRYPOINT ["/usr/bin/tini", "--", "node", "--import", "tsx", "bin/taskstream.ts"]
CMD ["all"]
