# syntax=docker/dockerfile:1
# The platform's image: `docker build -t coelho-realtime .` then run it with COELHO_* settings
# (the Helm chart sets them). Two stages: the first installs production dependencies with the
# lockfile, the second carries only them and the sources Bun runs directly (no build step, no
# compiler, no package manager cache).

# Pinned to the Bun of package.json's packageManager (a test checks they agree).
ARG BUN_IMAGE=oven/bun:1.4.5

FROM ${BUN_IMAGE} AS deps
WORKDIR /app
COPY package.json bun.lock bunfig.toml ./
COPY patches ./patches
# --production: no dev tools (biome, typescript, validators). Dependencies' install scripts are
# not run (none is trusted in package.json); onnxruntime-node ships its CPU binaries in the package.
RUN bun install --frozen-lockfile --production \
    && rm -rf /root/.bun/install/cache

FROM ${BUN_IMAGE} AS runtime
WORKDIR /app
ENV NODE_ENV=production \
    COELHO_HTTP_HOST=0.0.0.0 \
    COELHO_HTTP_PORT=3000 \
    COELHO_DATA_DIR=/data \
    COELHO_SIMULATE=false \
    # Bun's transpiler cache would write under $HOME; the root filesystem is read-only in the pod.
    BUN_RUNTIME_TRANSPILER_CACHE_PATH=0
# Sources and dependencies belong to root and are read-only for the process; it writes only to
# COELHO_DATA_DIR (a volume) and /tmp.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json bunfig.toml tsconfig.json ./
COPY runtime ./runtime
COPY actors ./actors
COPY models ./models
RUN mkdir -p /data && chown 1000:1000 /data
# The image's unprivileged user `bun` (uid 1000), as the chart's securityContext expects.
USER 1000:1000
EXPOSE 3000
VOLUME ["/data"]
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s \
  CMD ["bun", "-e", "const r = await fetch('http://127.0.0.1:' + (process.env.COELHO_HTTP_PORT ?? 3000) + '/health/live'); process.exit(r.ok ? 0 : 1)"]
# `bun start` (package.json) without the package manager in between: SIGTERM reaches the
# platform directly, which drains, checkpoints and exits within the pod's grace period.
CMD ["bun", "run", "actors/main.ts"]
