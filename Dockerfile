# syntax=docker/dockerfile:1.7
# One image for all taskstream processes. The process is chosen by the first argument,
# exactly as `npm start -- <process>` does locally:
#   docker run IMAGE ingest | processors | scheduler | fanout | all | migrate | topics
# Build:  docker build --build-arg TASKSTREAM_COMMIT="$(git rev-parse --short HEAD)" -t taskstream:0.1.0 .
# Node 22, the version `make dev`/`make test`/CI run (package.json engines; uWS from @based/uws,
# whose Node 22 binary needs glibc >= 2.27: bookworm has 2.36). Node 24's uWS builds need glibc 2.38.
# Pin by digest in production: NODE_IMAGE=node:22.23.5-bookworm-slim@sha256:...
ARG NODE_IMAGE=node:22.23.5-bookworm-slim

# ---- build: the same install command as CI (stack/install.sh), then the production JavaScript ----
FROM ${NODE_IMAGE} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      python3 make g++ libssl-dev zlib1g-dev libzstd-dev libsasl2-dev ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# CKJS_LINKING=dynamic: @confluentinc/kafka-javascript builds librdkafka against the
# system OpenSSL/zlib/zstd/SASL instead of downloading them (no GitHub access needed).
ENV CKJS_LINKING=dynamic
# deploy/image-smoke.sh runs this RUN line and the ENTRYPOINT outside Docker in CI (keep them one line each).
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund --loglevel=error
COPY . .
# tsc to dist/ (tsconfig.build.json), then drop the dev dependencies (tsc, tsx, vitest, biome).
RUN npm run build && npm prune --omit=dev --no-audit --no-fund && node -e "require('@confluentinc/kafka-javascript')"

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
# The `commit` label of taskstream_build_info (README, "rollout stuck"): --build-arg TASKSTREAM_COMMIT=<sha>.
ARG TASKSTREAM_COMMIT=unknown
ENV TASKSTREAM_COMMIT=${TASKSTREAM_COMMIT}
WORKDIR /app
COPY --from=build --chown=1000:1000 /app/node_modules ./node_modules
COPY --from=build --chown=1000:1000 /app/dist ./dist
COPY --from=build --chown=1000:1000 /app/package.json ./package.json
COPY --chown=1000:1000 deploy/healthcheck.mjs ./deploy/healthcheck.mjs
# The `node` user of the official image (uid/gid 1000); numeric so that Kubernetes
# runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 8080 8081 8082 8090
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "/app/deploy/healthcheck.mjs"]
# tini is PID 1: it forwards SIGTERM to node (graceful drain, SHUTDOWN_TIMEOUT_MS) and
# reaps zombies. `node dist/bin/taskstream.js` is what `npm start --` runs (compiled
# JavaScript, no tsx), without npm in between.
ENTRYPOINT ["/usr/bin/tini", "--", "node", "--enable-source-maps", "dist/bin/taskstream.js"]
CMD ["all"]
