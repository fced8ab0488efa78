#!/usr/bin/env bash
# Build k6 from the Go module proxy (k6 is neither on npm nor in Debian), pinned,
# into ${TASKSTREAM_CACHE:-$HOME/.cache/taskstream}/tools/k6-<ver>/k6.
# Skipped when the binary is already there. Prints the binary's path on stdout.
#   K6_VERSION   module version to build (default below; verified with Go 1.26)
set -euo pipefail

K6_VERSION="${K6_VERSION:-v1.8.1}"
CACHE="${TASKSTREAM_CACHE:-$HOME/.cache/taskstream}"
DEST="$CACHE/tools/k6-$K6_VERSION"
BIN="$DEST/k6"

if [[ -x "$BIN" ]] && "$BIN" version >/dev/null 2>&1; then
  echo "$BIN"
  exit 0
fi

command -v go >/dev/null || { echo "install-k6: go is required (Go toolchain, module proxy access)" >&2; exit 1; }
mkdir -p "$DEST"
start=$(date +%s)
echo "install-k6: building go.k6.io/k6@$K6_VERSION with $(go version | awk '{print $3}') (a few minutes on 2 cores)" >&2
# GOBIN puts the binary straight into the versioned tool dir; nice keeps the box usable.
# CGO is not needed by k6 and disabling it avoids depending on the system C toolchain.
GOBIN="$DEST" CGO_ENABLED=0 GOFLAGS="${GOFLAGS:--buildvcs=false}" \
  nice -n 10 go install "go.k6.io/k6@$K6_VERSION" >&2
"$BIN" version >&2
end=$(date +%s)
echo "$(date -u +%FT%TZ) k6-$K6_VERSION $((end - start))s (nproc=$(nproc))" >>"$CACHE/tools/build-times.log" 2>/dev/null || true
echo "$BIN"
