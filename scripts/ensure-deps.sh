#!/usr/bin/env bash
# Installs what Switchboard needs on a fresh Debian/Ubuntu machine with Node 20:
# pnpm (the version pinned in package.json), the workspace's packages, and the
# Debian packages named as arguments (for example nats-server). Safe to re-run.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

log() { printf '[setup] %s\n' "$*" >&2; }

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  log "Node.js 20 or newer is required (found: $(node -v 2>/dev/null || echo none))"
  exit 1
fi

pinned=$(node -p 'require("./package.json").packageManager.split("@")[1]')
if [ "$(pnpm -v 2>/dev/null || true)" != "$pinned" ]; then
  log "installing pnpm $pinned"
  npm install -g "pnpm@$pinned" >/dev/null
fi

missing=()
for pkg in "$@"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null; then sudo="sudo"; else
      log "need root to install Debian packages: ${missing[*]}"; exit 1
    fi
  fi
  log "installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# the switchboard bin is linked at install time: a checkout installed before the bin was a
# committed file (packages/cli/bin) has no link until the next install
if [ ! -f node_modules/.modules.yaml ] || [ pnpm-lock.yaml -nt node_modules/.modules.yaml ] || [ ! -e node_modules/.bin/switchboard ]; then
  log "installing workspace packages"
  pnpm install --frozen-lockfile --reporter=silent
fi
