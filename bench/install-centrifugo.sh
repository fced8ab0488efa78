#!/usr/bin/env bash
# Builds Centrifugo (Apache-2.0), pinned, from the Go module proxy into
# ${TASKSTREAM_CACHE:-$HOME/.cache/taskstream}/tools/centrifugo-<ver>/centrifugo, outside the clone,
# for `make bench-compare`. Skipped when the binary is there. Prints the binary's path on stdout.
#   CENTRIFUGO_VERSION   module version (default below; built here with Go 1.26 in about 4 minutes)
set -euo pipefail

CENTRIFUGO_VERSION="${CENTRIFUGO_VERSION:-v6.9.1}"
CACHE="${TASKSTREAM_CACHE:-$HOME/.cache/taskstream}"
DEST="$CACHE/tools/centrifugo-$CENTRIFUGO_VERSION"
BIN="$DEST/centrifugo"

if [[ -x "$BIN" ]] && "$BIN" version >/dev/null 2>&1; then
  echo "$BIN"
  exit 0
fi
command -v go >/dev/null || { echo "install-centrifugo: go is required (Go toolchain, module proxy access)" >&2; exit 1; }
mkdir -p "$DEST"
start=$(date +%s)
echo "install-centrifugo: building github.com/centrifugal/centrifugo/v6@$CENTRIFUGO_VERSION with $(go version | awk '{print $3}') (about 4 minutes on 2 cores)" >&2
# Outside any module (a temp dir), so the clone's files play no part; nice keeps the box usable.
# (`centrifugo version` prints v0.0.0 for such a build: the release sets the version by -ldflags.)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && GOBIN="$DEST" CGO_ENABLED=0 GOFLAGS="${GOFLAGS:--buildvcs=false}" nice -n 10 go install "github.com/centrifugal/centrifugo/v6@$CENTRIFUGO_VERSION" >&2)
end=$(date +%s)
echo "$(date -u +%FT%TZ) centrifugo-$CENTRIFUGO_VERSION $((end - start))s (nproc=$(nproc))" >>"$CACHE/tools/build-times.log" 2>/dev/null || true
echo "$BIN"
