# shellcheck shell=bash disable=SC2034  # sourced: the variables are used by the scripts
# Shared paths for the deploy scripts (sourced, not executed).
DEPLOY_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$DEPLOY_DIR/.." && pwd)"
# shellcheck source=/dev/null
. "$DEPLOY_DIR/tools.env"
TASKSTREAM_CACHE="${TASKSTREAM_CACHE:-$HOME/.cache/taskstream}"
# Node 22 (the project's engines) for the checks, like every other script.
# shellcheck source=/dev/null
. "$REPO_ROOT/stack/node-env.sh"
TOOLS_DIR="$TASKSTREAM_CACHE/tools"
KUSTOMIZE="$TOOLS_DIR/kustomize-$KUSTOMIZE_VERSION/kustomize"
TOFU="$TOOLS_DIR/opentofu-$OPENTOFU_VERSION/tofu"
COMPOSE_LINT="$TOOLS_DIR/compose-lint-$COMPOSE_GO_VERSION/compose-lint"
K8S_STRICT="$TOOLS_DIR/k8s-strict-$K8S_API_VERSION/k8s-strict"
PLUGIN_DIR="${TASKSTREAM_TF_PLUGIN_DIR:-$TOOLS_DIR/tf-plugins}"
