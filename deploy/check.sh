#!/usr/bin/env bash
# make deploy-check: validation without cloud access (the dashboard step starts a local stack) of Dockerfile, docker-compose.yml, k8s/, redpanda/helm
# and terraform/. Builds its tools once into ${TASKSTREAM_CACHE:-~/.cache/taskstream}/tools.
#   TASKSTREAM_REQUIRE_TF_VALIDATE=1  fail (instead of skip) when the Terraform providers
#                                     cannot be had, e.g. on a machine with a provider mirror
#   DASHBOARD_STACK_PORT_BASE=<3-5>   ports of the throwaway stack the dashboard check starts (default 5)
#   TASKSTREAM_TF_PLUGIN_DIR=<dir>    use an existing provider mirror
#                                     (<dir>/registry.opentofu.org/<ns>/<type>/<ver>/linux_amd64/...)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=/dev/null
. "$here/lib.sh"
cd "$REPO_ROOT"
# Some machines export TF_CLI_CONFIG_FILE pointing at a file that does not exist.
[ -z "${TF_CLI_CONFIG_FILE:-}" ] || [ -f "$TF_CLI_CONFIG_FILE" ] || unset TF_CLI_CONFIG_FILE

passed=0; failed=0; skipped=0; failures=()
step() { echo; echo "==> $*"; }
ok() { passed=$((passed + 1)); echo "ok   $*"; }
bad() { failed=$((failed + 1)); failures+=("$*"); echo "FAIL $*"; }
skip() { skipped=$((skipped + 1)); echo "SKIP $*"; }

step "tools (cached in $TOOLS_DIR)"
bash "$here/install-tools.sh" kustomize tofu compose-lint k8s-strict providers
lockhash="$(sha256sum "$here/package-lock.json" | cut -c1-16)"
if [ ! -f "$here/node_modules/.lock-$lockhash" ]; then
  npm ci --prefix "$here" --no-audit --no-fund --loglevel=error
  touch "$here/node_modules/.lock-$lockhash"
fi

step "docker-compose.yml against the Compose Specification (compose-go $COMPOSE_GO_VERSION)"
if out="$(JWT_SECRET="" "$COMPOSE_LINT" docker-compose.yml 2>&1 >/dev/null)"; then ok "compose-lint docker-compose.yml"
else bad "compose-lint docker-compose.yml: $out"; fi

step "docker-compose.yml's own defaults through the config loader (bin/taskstream.ts check-config)"
if json="$(env -i PATH="$PATH" HOME="$HOME" "$COMPOSE_LINT" docker-compose.yml 2>&1)" \
  && out="$(node "$here/checks/compose-env.mjs" /dev/stdin <<<"$json" 2>&1)"; then ok "compose environment of every app service is valid:"$'\n'"$out"
else bad "compose environment: ${out:-$json}"; fi

step "render.yaml (Render Blueprint, option A), offline (deploy/checks/render.mjs)"
if out="$(node "$here/checks/render.mjs" 2>&1)"; then ok "$out"; else bad "$out"; fi

step "Terraform formatting (tofu $OPENTOFU_VERSION fmt -check)"
if out="$("$TOFU" fmt -check -recursive -diff terraform 2>&1)"; then ok "tofu fmt -check -recursive terraform"
else bad "tofu fmt: files need \`tofu fmt -recursive terraform\`:"$'\n'"$out"; fi

# The examples' input validations, run for real by tofu (and terraform, when installed):
# their variables alone form a root module that needs no provider, so `plan` evaluates
# every validation block offline. Good inputs must plan, each bad input must be refused.
tf_var_harness() { # <binary> <example>
  local bin=$1 ex=$2 dir; dir="$(mktemp -d)"
  cp "terraform/examples/$ex/variables.tf" "terraform/examples/$ex/cloud-variables.tf" "$dir/"
  local good=(-var image=registry.example.com/taskstream:0.1.0)
  [ "$ex" = civo ] && good+=(-var 'api_allowed_cidrs=["203.0.113.0/24"]')
  local -a bads
  bads=("image=registry.example.com/taskstream:latest" "image=registry.example.com/taskstream"
        "jwt_secret=short" "jwt_jwks_url=http://insecure.example.com/jwks" "host=https://api.example.com/"
        "redpanda_replicas=1" "node_count=2" "redpanda_storage_size=50GB" "region=nowhere"
        "cors_origins=https://a.example.com, https://b.example.com" "kafka_brokers=https://seed.example.com:9092")
  [ "$ex" = civo ] && bads+=("api_allowed_cidrs=[\"0.0.0.0/0\"]" "node_size=large")
  [ "$ex" = linode ] && bads+=("node_type=standard" "kubernetes_version=v1.33")
  local rc=0
  ( cd "$dir" && TF_IN_AUTOMATION=1 "$bin" init -backend=false -input=false >/dev/null ) || { echo "$bin init failed in $dir"; rc=1; }
  if [ $rc = 0 ] && ! ( cd "$dir" && "$bin" validate -no-color >/dev/null && "$bin" plan -input=false -no-color -lock=false "${good[@]}" >/dev/null ); then
    echo "$ex: good inputs were refused:"; ( cd "$dir" && "$bin" plan -input=false -no-color -lock=false "${good[@]}" 2>&1 | tail -20 ); rc=1
  fi
  if [ $rc = 0 ]; then
    for b in "${bads[@]}"; do
      local args=("${good[@]}" -var "$b")
      if ( cd "$dir" && "$bin" plan -input=false -no-color -lock=false "${args[@]}" >/dev/null 2>&1 ); then
        echo "$ex: bad input accepted: $b"; rc=1
      fi
    done
  fi
  rm -rf "$dir"
  return $rc
}
step "Terraform input validations, evaluated by tofu (and terraform if installed)"
for ex in linode civo; do
  if out="$(tf_var_harness "$TOFU" "$ex" 2>&1)"; then ok "tofu: $ex variables accept good inputs and refuse each bad one"
  else bad "tofu: $ex variables: $out"; fi
  if command -v terraform >/dev/null 2>&1; then
    if out="$(tf_var_harness terraform "$ex" 2>&1)"; then ok "terraform $(terraform version 2>/dev/null | head -1 | cut -d' ' -f2): $ex variables"
    else bad "terraform: $ex variables: $out"; fi
  fi
done

step "tofu validate on terraform/examples (providers from the filesystem mirror $PLUGIN_DIR)"
if [ -f "$PLUGIN_DIR/UNAVAILABLE" ]; then
  msg="tofu validate: providers not obtainable here:"$'\n'"$(sed 's/^/       /' "$PLUGIN_DIR/UNAVAILABLE")"
  if [ "${TASKSTREAM_REQUIRE_TF_VALIDATE:-0}" = 1 ]; then bad "$msg"; else skip "$msg"; fi
else
  for ex in linode civo; do
    d="$(mktemp -d)"; cp -r "terraform/examples/$ex/." "$d/"
    # keep relative module sources working from the copy
    sed -i "s#\"\\.\\./\\.\\./modules/#\"$REPO_ROOT/terraform/modules/#; s#\${path.module}/\\.\\./\\.\\./\\.\\./#$REPO_ROOT/#" "$d"/*.tf
    if out="$(cd "$d" && TF_IN_AUTOMATION=1 "$TOFU" init -backend=false -input=false -plugin-dir="$PLUGIN_DIR" 2>&1 && "$TOFU" validate -no-color 2>&1)"; then ok "tofu validate terraform/examples/$ex"
    else bad "tofu validate terraform/examples/$ex:"$'\n'"$out"; fi
    rm -rf "$d"
  done
fi

step "every overlay decoded strictly into the Kubernetes API types (k8s-strict, k8s.io/api $K8S_API_VERSION)"
for ov in k8s/overlays/*/; do
  ov="$(basename "$ov")"
  if out="$("$KUSTOMIZE" build "k8s/overlays/$ov" 2>&1 | "$K8S_STRICT" 2>&1)"; then ok "k8s-strict $ov: $(tail -1 <<<"$out")"
  else bad "k8s-strict $ov:"$'\n'"$(grep -v '^skip' <<<"$out")"; fi
done

step "rendered manifests, compose, Dockerfile, Terraform structure (deploy/checks)"
if KUSTOMIZE="$KUSTOMIZE" node "$here/checks/run.mjs"; then ok "deploy/checks/run.mjs"; else bad "deploy/checks/run.mjs (see above)"; fi
step "the checks can fail: each broken on purpose (deploy/checks/selftest.mjs)"
if KUSTOMIZE="$KUSTOMIZE" node "$here/checks/selftest.mjs" > /tmp/deploy-selftest.$$ 2>&1; then
  ok "deploy/checks/selftest.mjs: $(tail -1 /tmp/deploy-selftest.$$)"
else cat /tmp/deploy-selftest.$$; bad "deploy/checks/selftest.mjs"; fi
rm -f /tmp/deploy-selftest.$$

step "the Grafana dashboard's PromQL against a running stack's /metrics (deploy/checks/dashboard-stack.sh)"
if out="$(bash "$here/checks/dashboard-stack.sh" 2>&1)"; then ok "$(tail -1 <<<"$out")"
else bad "deploy/checks/dashboard-stack.sh:"$'\n'"$out"; fi

echo
for f in "${failures[@]}"; do echo "failed: ${f%%$'\n'*}"; done
echo "deploy-check: $passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
