#!/usr/bin/env bash
# Builds the offline deploy tools from the Go module proxy into a cache OUTSIDE the repo,
# so a clean clone (and CI on the same machine) reuses them:
#   ${TASKSTREAM_CACHE:-$HOME/.cache/taskstream}/tools/<tool>-<version>/
# Usage: deploy/install-tools.sh [kustomize] [tofu] [compose-lint] [k8s-strict] [providers]   (default: all)
# Prints the path of nothing; deploy/lib.sh knows where each tool lives.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=/dev/null
. "$here/lib.sh"

# Go as the machine image installs it (/usr/local/go), also when a minimal PATH leaves it out.
command -v go >/dev/null || export PATH="/usr/local/go/bin:$PATH"
command -v go >/dev/null || { echo "deploy tools: Go is needed to build them (not on PATH, nor in /usr/local/go/bin)" >&2; exit 1; }
export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false
NICE=(nice -n "${TASKSTREAM_NICE:-10}")
mkdir -p "$TOOLS_DIR"
log="$TOOLS_DIR/build-times.log"

timed() { # name cmd...
  local name=$1; shift
  local t0=$SECONDS
  "$@"
  local dt=$((SECONDS - t0))
  echo "$(date -u +%FT%TZ) $name ${dt}s (cold build, nproc=$(nproc))" | tee -a "$log"
}

build_kustomize() {
  [ -x "$KUSTOMIZE" ] && { echo "kustomize $KUSTOMIZE_VERSION: cached"; return; }
  local dir; dir="$(dirname "$KUSTOMIZE")"; mkdir -p "$dir"
  timed "kustomize-$KUSTOMIZE_VERSION" env GOBIN="$dir" "${NICE[@]}" \
    go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
}

build_tofu() {
  [ -x "$TOFU" ] && { echo "tofu $OPENTOFU_VERSION: cached"; return; }
  # `go install github.com/opentofu/opentofu/cmd/tofu@...` is refused (its go.mod has a
  # replace directive), so download the module and build inside it.
  local src
  src="$(go mod download -json "github.com/opentofu/opentofu@$OPENTOFU_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [ -d "$src" ] || { echo "cannot download github.com/opentofu/opentofu@$OPENTOFU_VERSION" >&2; return 1; }
  mkdir -p "$(dirname "$TOFU")"
  timed "tofu-$OPENTOFU_VERSION" bash -c "cd '$src' && ${NICE[*]} go build -trimpath \
      -ldflags '-s -w -X github.com/opentofu/opentofu/version.dev=no' -o '$TOFU.tmp' ./cmd/tofu"
  mv "$TOFU.tmp" "$TOFU"
}

build_compose_lint() {
  [ -x "$COMPOSE_LINT" ] && { echo "compose-lint $COMPOSE_GO_VERSION: cached"; return; }
  mkdir -p "$(dirname "$COMPOSE_LINT")"
  timed "compose-lint-compose-go-$COMPOSE_GO_VERSION" bash -c "cd '$here/tools/compose-lint' && \
      ${NICE[*]} go build -trimpath -ldflags '-s -w' -o '$COMPOSE_LINT.tmp' ."
  mv "$COMPOSE_LINT.tmp" "$COMPOSE_LINT"
}

build_k8s_strict() {
  [ -x "$K8S_STRICT" ] && { echo "k8s-strict $K8S_API_VERSION: cached"; return; }
  mkdir -p "$(dirname "$K8S_STRICT")"
  timed "k8s-strict-k8s.io-api-$K8S_API_VERSION" bash -c "cd '$here/tools/k8s-strict' && \
      ${NICE[*]} go build -trimpath -ldflags '-s -w' -o '$K8S_STRICT.tmp' ."
  mv "$K8S_STRICT.tmp" "$K8S_STRICT"
}

# Terraform providers: built from their Go modules into a filesystem mirror
#   $PLUGIN_DIR/registry.opentofu.org/<ns>/<type>/<ver>/linux_amd64/terraform-provider-<type>_v<ver>
# (and the same under registry.terraform.io for Terraform). If the module proxy refuses a
# module, that is recorded in $PLUGIN_DIR/UNAVAILABLE and deploy-check skips `tofu validate`.
build_providers() {
  mkdir -p "$PLUGIN_DIR"; : > "$PLUGIN_DIR/UNAVAILABLE.tmp"
  local spec
  for spec in "$PROVIDER_LINODE" "$PROVIDER_CIVO" "$PROVIDER_HELM" "$PROVIDER_KUBERNETES"; do
    # shellcheck disable=SC2086
    set -- $spec
    local addr=$1 ver=$2 mod=$3 ns type
    ns=${addr%/*}; type=${addr#*/}
    local out="$PLUGIN_DIR/registry.opentofu.org/$ns/$type/$ver/linux_amd64/terraform-provider-${type}_v$ver"
    if [ -x "$out" ]; then echo "provider $addr $ver: cached"; continue; fi
    local json src err
    json="$(go mod download -json "$mod" 2>&1 || true)"
    src="$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
    if [ -z "$src" ]; then
      err="$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Error": "\(.*\)"$/\1/p' | head -1)"
      echo "provider $addr $ver: NOT AVAILABLE from the Go module proxy: ${err:-$json}" | tee -a "$PLUGIN_DIR/UNAVAILABLE.tmp" >&2
      continue
    fi
    mkdir -p "$(dirname "$out")"
    timed "provider-$type-$ver" bash -c "cd '$src' && ${NICE[*]} go build -trimpath -ldflags '-s -w' -o '$out.tmp' ."
    mv "$out.tmp" "$out"
    local tf="$PLUGIN_DIR/registry.terraform.io/$ns/$type/$ver/linux_amd64"
    mkdir -p "$tf"; ln -sf "$out" "$tf/terraform-provider-${type}_v$ver"
  done
  if [ -s "$PLUGIN_DIR/UNAVAILABLE.tmp" ]; then mv "$PLUGIN_DIR/UNAVAILABLE.tmp" "$PLUGIN_DIR/UNAVAILABLE"
  else rm -f "$PLUGIN_DIR/UNAVAILABLE" "$PLUGIN_DIR/UNAVAILABLE.tmp"; fi
}

what=("$@"); [ ${#what[@]} -gt 0 ] || what=(kustomize tofu compose-lint k8s-strict providers)
for w in "${what[@]}"; do
  case $w in
    kustomize) build_kustomize ;;
    tofu) build_tofu ;;
    compose-lint) build_compose_lint ;;
    k8s-strict) build_k8s_strict ;;
    providers) build_providers ;;
    *) echo "unknown tool: $w" >&2; exit 2 ;;
  esac
done
