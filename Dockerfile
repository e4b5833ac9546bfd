# syntax=docker/dockerfile:1
# One image for every Switchboard process; the command picks the process (deploy/ manifests):
#   node /app/transport/dist/main.js    switchboard-transport (SIP edge, host network)
#   node /app/transport/dist/advertise-init.js  the transport pod's init container (the node's public address)
#   node /app/worker/dist/main.js       switchboard-worker (the default command)
#   node /app/worker/dist/prestop.js    switchboard-worker-prestop (the worker's preStop hook)
#   node /app/cdr-web/dist/main.js      switchboard-cdr-web (the CDR page)
#   node /app/cli/dist/main.js          switchboard (the operator's CLI; the trunks-apply Job)
# Each /app/<process> is the `pnpm deploy --prod` of its package: its own node_modules with its
# runtime dependencies only (test/e2e/prod-deploy.test.ts runs these same commands and places a
# call through what they produce, so a missing runtime dependency fails the test suite).

ARG NODE_IMAGE=node:20-slim

FROM ${NODE_IMAGE} AS build
# pnpm at the version package.json pins (packageManager), through corepack
ENV COREPACK_ENABLE_DOWNLOAD_PROMPT=0 CI=true
RUN corepack enable
WORKDIR /src
# the lockfile alone: the store layer is rebuilt only when dependencies change
COPY pnpm-lock.yaml pnpm-workspace.yaml package.json ./
# the lockfile names patched dependencies by their patch's hash: pnpm reads the patches with it
COPY patches ./patches
RUN --mount=type=cache,id=switchboard-pnpm-store,target=/pnpm/store \
    pnpm fetch --store-dir /pnpm/store
COPY . .
RUN --mount=type=cache,id=switchboard-pnpm-store,target=/pnpm/store \
    pnpm install --frozen-lockfile --offline --store-dir /pnpm/store \
 && pnpm turbo run build --output-logs=errors-only
# inject-workspace-packages on the command line only: pnpm 10 deploys from the lockfile with it
# (no registry needed), while the workspace itself keeps its symlinked packages for development
RUN --mount=type=cache,id=switchboard-pnpm-store,target=/pnpm/store \
    pnpm --config.inject-workspace-packages=true --store-dir /pnpm/store --filter @switchboard/transport deploy --prod --offline /out/transport \
 && pnpm --config.inject-workspace-packages=true --store-dir /pnpm/store --filter @switchboard/engine deploy --prod --offline /out/worker \
 && pnpm --config.inject-workspace-packages=true --store-dir /pnpm/store --filter @switchboard/cdr-web deploy --prod --offline /out/cdr-web \
 && pnpm --config.inject-workspace-packages=true --store-dir /pnpm/store --filter @switchboard/cli deploy --prod --offline /out/cli \
 && find /out -name .turbo -type d -prune -exec rm -rf {} + \
 && chmod 0755 /out/*/dist/main.js /out/worker/dist/prestop.js /out/transport/dist/advertise-init.js

FROM ${NODE_IMAGE} AS runtime
# the health listener (README "Health endpoints"): on in the image, where an orchestrator probes it
ENV NODE_ENV=production SWITCHBOARD_HEALTH_PORT=8081
# root owns the code (the process cannot change it); the CDR spool is the one place it writes,
# normally a volume mounted there (SWITCHBOARD_CDR_SPOOL_DIR)
COPY --from=build /out /app
RUN ln -s /app/transport/dist/main.js /usr/local/bin/switchboard-transport \
 && ln -s /app/worker/dist/main.js /usr/local/bin/switchboard-worker \
 && ln -s /app/worker/dist/prestop.js /usr/local/bin/switchboard-worker-prestop \
 && ln -s /app/cdr-web/dist/main.js /usr/local/bin/switchboard-cdr-web \
 && ln -s /app/cli/bin/switchboard.mjs /usr/local/bin/switchboard \
 && mkdir -p /var/lib/switchboard/spool \
 && chown 1000:1000 /var/lib/switchboard/spool
# the base image's `node` user, by number so that Kubernetes' runAsNonRoot can check it
USER 1000:1000
WORKDIR /app
EXPOSE 5060/udp 5060/tcp 8080/tcp 8081/tcp
# slim has no curl: node's own fetch asks /livez (liveness only; readiness is the orchestrator's /readyz)
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.SWITCHBOARD_HEALTH_PORT||8081)+'/livez').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "/app/worker/dist/main.js"]
