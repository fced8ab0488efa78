#!/usr/bin/env bash
# Applies one k8s/ overlay to the cluster of $KUBECONFIG. Used by terraform/modules/app
# and by hand:  deploy/k8s-apply.sh <local|linode|civo>
#
# Environment:
#   TASKSTREAM_IMAGE  image with tag or digest (required except for `local`: taskstream:dev)
#   TASKSTREAM_HOST   Ingress host (optional; empty = any host)
#   KAFKA_BROKERS     overrides the overlay's broker list (optional)
#   JWT_SECRET | JWT_JWKS_URL  one is required (local: a dev secret is used)
#   JWT_ISSUER, JWT_AUDIENCE  optional (ConfigMap)
#   CORS_ORIGINS      browser origins of the dashboard/clients (ConfigMap; default: localhost only,
#                     so a browser elsewhere gets no CORS headers and a 403 at the WebSocket upgrade)
#   TOPIC_PREFIX      optional (ConfigMap); the topics Job creates the prefixed topics
#   DATABASE_URL      optional; default: the uri CloudNativePG generated (taskstream-pg-app)
#   REDIS_URL         optional; default: the in-cluster Redis of components/redis, with its password
#   REDIS_PASSWORD    optional; password of the in-cluster Redis (default: kept from the Secret
#                     taskstream-data/taskstream-redis-auth, or generated on the first apply)
#   KAFKA_SSL_CA_PEM  optional PEM of the brokers' CA: Secret taskstream-kafka-ca, mounted, KAFKA_SSL_CA_FILE
#                     (an external KAFKA_BROKERS host also opens egress to its ports)
#   KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD, KAFKA_SSL
#                     optional; a secured broker (mechanism and KAFKA_SSL into the ConfigMap,
#                     user and password into the Secret)
#   RESET_SECRETS=1   rebuild taskstream-secrets from the environment and the in-cluster defaults only;
#                     otherwise an optional secret the environment leaves empty (DATABASE_URL,
#                     REDIS_URL, JWT_* when neither is given, KAFKA_SASL_* with a mechanism) keeps
#                     the value the cluster's Secret has
#   K8S_APPLY_LOG     also write the output to this file (Terraform: ./k8s-apply.log in the example)
#   ROLLBACK=1        roll out in reverse order (ingest and fanout first, processors last, after
#                     their consumer lag reached 0); default: processors, scheduler, ingest + fanout
# Every pod template (and Redis's) carries taskstream.io/config-hash, a hash of the ConfigMap and the
# Secret (Redis: its password), so a changed setting or secret restarts the pods that read it.
# Needs kubectl >= 1.27 (kustomize built in). Secrets go straight from the environment
# into the Secret taskstream-secrets; nothing is written to disk or to Terraform state.
set -euo pipefail
# A copy of everything printed (Terraform shows none of it on success: its environment holds
# sensitive values, so the provisioner's output is suppressed). No secret is ever printed.
if [ -n "${K8S_APPLY_LOG:-}" ]; then
  (umask 077 && : >"$K8S_APPLY_LOG")
  exec > >(tee -a "$K8S_APPLY_LOG") 2>&1
  echo "--> $(date -u +%FT%TZ) deploy/k8s-apply.sh $*"
fi
overlay="${1:?usage: k8s-apply.sh <local|linode|civo>}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
[ -d "$root/k8s/overlays/$overlay" ] || { echo "no overlay k8s/overlays/$overlay" >&2; exit 2; }
command -v kubectl >/dev/null || { echo "kubectl is required" >&2; exit 2; }

image="${TASKSTREAM_IMAGE:-}"
if [ -z "$image" ]; then
  [ "$overlay" = local ] || { echo "TASKSTREAM_IMAGE is required for overlay $overlay" >&2; exit 2; }
fi
case "$image" in *:latest) echo "refusing image tag :latest ($image)" >&2; exit 2 ;; esac
# A key of the Secret taskstream-secrets already in the cluster (empty if none, or RESET_SECRETS=1).
kept() {
  [ "${RESET_SECRETS:-0}" = 1 ] && return 0
  kubectl -n taskstream get secret taskstream-secrets -o "jsonpath={.data.$1}" 2>/dev/null | base64 -d 2>/dev/null || true
}
sha() { if command -v sha256sum >/dev/null; then sha256sum "$@"; else shasum -a 256 "$@"; fi | cut -c1-16; }
if [ "$overlay" = local ]; then : "${JWT_SECRET:=local-dev-secret-change-me-0123456789}"; fi
# Optional secrets the environment leaves empty keep the value the cluster has (a new shell or CI
# without TF_VAR_database_url must not silently point DATABASE_URL back at the in-cluster database).
if [ -z "${JWT_SECRET:-}" ] && [ -z "${JWT_JWKS_URL:-}" ]; then JWT_SECRET="$(kept JWT_SECRET)"; JWT_JWKS_URL="$(kept JWT_JWKS_URL)"; fi
if [ -z "${JWT_SECRET:-}" ] && [ -z "${JWT_JWKS_URL:-}" ]; then
  echo "set JWT_SECRET or JWT_JWKS_URL" >&2; exit 2
fi
# (The in-cluster defaults are not kept but built again below: CloudNativePG's current uri, and the
# in-cluster Redis with the current password.)
if [ -z "${DATABASE_URL:-}" ]; then
  DATABASE_URL="$(kept DATABASE_URL)"
  case "$DATABASE_URL" in *@taskstream-pg-rw.*) DATABASE_URL="" ;; esac
fi
if [ -z "${REDIS_URL:-}" ]; then
  REDIS_URL="$(kept REDIS_URL)"
  case "$REDIS_URL" in *@taskstream-redis.taskstream-data.svc.cluster.local:*) REDIS_URL="" ;; esac
fi
if [ -n "${KAFKA_SASL_MECHANISM:-}" ]; then
  : "${KAFKA_SASL_USERNAME:=$(kept KAFKA_SASL_USERNAME)}"
  : "${KAFKA_SASL_PASSWORD:=$(kept KAFKA_SASL_PASSWORD)}"
fi

# Physical path (macOS: /var is a link to /private/var), so the relative path below counts right.
work="$(cd "$(mktemp -d)" && pwd -P)"; trap 'rm -rf "$work"' EXIT
# One ConfigMap key as a JSON patch inside a single-quoted YAML scalar ("\ escaped for JSON, ' for YAML).
cm_patch() { # <key> <value>
  local v="${2//\\/\\\\}"; v="${v//\"/\\\"}"; v="${v//\'/\'\'}"
  echo "  - target: {kind: ConfigMap, name: taskstream-config}"
  echo "    patch: '[{\"op\":\"add\",\"path\":\"/data/$1\",\"value\":\"$v\"}]'"
}
# A throw-away kustomization on top of the overlay: image, host, broker list.
{
  echo "apiVersion: kustomize.config.k8s.io/v1beta1"
  echo "kind: Kustomization"
  # kustomize refuses absolute paths: point at the overlay relative to the temp dir.
  # (Portable: up to / from the temp dir, then down to the overlay; no GNU realpath --relative-to.)
  up="$(printf '%s' "$work" | sed 's#[^/][^/]*#..#g; s#^/##')"
  echo "resources: [\"$up$root/k8s/overlays/$overlay\"]"
  if [ -n "$image" ]; then
    name="${image%@*}"; digest=""; [ "$name" != "$image" ] && digest="${image#*@}"
    tag=""; if [ -z "$digest" ]; then tag="${name##*:}"; name="${name%:*}"; fi
    echo "images:"
    echo "  - name: registry.example.com/taskstream/taskstream"
    echo "    newName: \"$name\""
    [ -n "$tag" ] && echo "    newTag: \"$tag\""
    [ -n "$digest" ] && echo "    digest: \"$digest\""
    echo "  - name: taskstream"
    echo "    newName: \"$name\""
    [ -n "$tag" ] && echo "    newTag: \"$tag\""
    [ -n "$digest" ] && echo "    digest: \"$digest\""
  fi
  echo "patches:"
  if [ -n "${TASKSTREAM_HOST:-}" ]; then
    echo "  - target: {kind: Ingress, name: taskstream}"
    echo "    patch: '[{\"op\":\"add\",\"path\":\"/spec/rules/0/host\",\"value\":\"$TASKSTREAM_HOST\"}]'"
  fi
  if [ -n "${KAFKA_BROKERS:-}" ]; then
    echo "  - target: {kind: ConfigMap, name: taskstream-config}"
    echo "    patch: '[{\"op\":\"replace\",\"path\":\"/data/KAFKA_BROKERS\",\"value\":\"$KAFKA_BROKERS\"}]'"
  fi
  if [ -n "${KAFKA_SASL_MECHANISM:-}" ]; then
    echo "  - target: {kind: ConfigMap, name: taskstream-config}"
    echo "    patch: '[{\"op\":\"add\",\"path\":\"/data/KAFKA_SASL_MECHANISM\",\"value\":\"$KAFKA_SASL_MECHANISM\"}]'"
  fi
  if [ "${KAFKA_SSL:-false}" = true ]; then
    echo "  - target: {kind: ConfigMap, name: taskstream-config}"
    echo "    patch: '[{\"op\":\"add\",\"path\":\"/data/KAFKA_SSL\",\"value\":\"true\"}]'"
  fi
  for k in JWT_ISSUER JWT_AUDIENCE CORS_ORIGINS TOPIC_PREFIX; do
    if [ -n "${!k:-}" ]; then cm_patch "$k" "${!k}"; fi
  done
  # An external broker (a host outside the cluster): egress from the app pods to its ports; the base
  # NetworkPolicy allows only the in-cluster Redpanda namespace.
  ext_ports=""
  for b in ${KAFKA_BROKERS//,/ }; do
    case "${b%:*}" in *.svc.cluster.local | *.svc) continue ;; esac
    case " $ext_ports " in *" ${b##*:} "*) ;; *) ext_ports="$ext_ports ${b##*:}" ;; esac
  done
  if [ -n "$ext_ports" ]; then
    rule=""; for p in $ext_ports; do rule="$rule${rule:+,}{\"port\":$p,\"protocol\":\"TCP\"}"; done
    echo "  - target: {kind: NetworkPolicy, name: allow-app-egress}"
    echo "    patch: '[{\"op\":\"add\",\"path\":\"/spec/egress/-\",\"value\":{\"ports\":[$rule]}}]'"
  fi
  # The brokers' CA (KAFKA_SSL_CA_PEM): the Secret taskstream-kafka-ca mounted into every app pod and Job.
  if [ -n "${KAFKA_SSL_CA_PEM:-}" ]; then
    cm_patch KAFKA_SSL_CA_FILE /etc/taskstream/kafka-ca/ca.pem
    for kind in Deployment Job; do
      echo "  - target: {kind: $kind, labelSelector: app.kubernetes.io/name=taskstream}"
      echo "    patch: '[{\"op\":\"add\",\"path\":\"/spec/template/spec/volumes/-\",\"value\":{\"name\":\"kafka-ca\",\"secret\":{\"secretName\":\"taskstream-kafka-ca\"}}},{\"op\":\"add\",\"path\":\"/spec/template/spec/containers/0/volumeMounts/-\",\"value\":{\"name\":\"kafka-ca\",\"mountPath\":\"/etc/taskstream/kafka-ca\",\"readOnly\":true}}]'"
    done
  fi
} > "$work/kustomization.yaml"
sed '/^patches:$/{$d;}' "$work/kustomization.yaml" > "$work/k.tmp" && mv "$work/k.tmp" "$work/kustomization.yaml"
kubectl kustomize "$work" > "$work/all.yaml"

if [ -n "${KAFKA_SSL_CA_PEM:-}" ] && [ "${KAFKA_SSL:-false}" != true ]; then
  echo "KAFKA_SSL_CA_PEM needs KAFKA_SSL=true" >&2; exit 2
fi
if [ -n "${KAFKA_SASL_MECHANISM:-}" ] && { [ -z "${KAFKA_SASL_USERNAME:-}" ] || [ -z "${KAFKA_SASL_PASSWORD:-}" ]; }; then
  echo "KAFKA_SASL_MECHANISM=$KAFKA_SASL_MECHANISM needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD" >&2; exit 2
fi

echo "--> Redis password (Secret taskstream-data/taskstream-redis-auth)"
if [ -z "${REDIS_PASSWORD:-}" ]; then
  REDIS_PASSWORD="$(kubectl -n taskstream-data get secret taskstream-redis-auth -o jsonpath='{.data.password}' 2>/dev/null | base64 -d || true)"
fi
# Hex only, so it needs no escaping inside REDIS_URL.
[ -n "$REDIS_PASSWORD" ] || REDIS_PASSWORD="$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')"
kubectl create namespace taskstream-data --dry-run=client -o yaml | kubectl apply --server-side --field-manager=taskstream -f - >/dev/null
(
  umask 077
  printf 'password=%s\n' "$REDIS_PASSWORD" > "$work/redis.env"
)
kubectl -n taskstream-data create secret generic taskstream-redis-auth --from-env-file="$work/redis.env" \
  --dry-run=client -o yaml | kubectl apply --server-side --force-conflicts --field-manager=taskstream -f - >/dev/null
# A changed password restarts Redis (its --requirepass is read at start only): hash annotation.
{
  grep -q '^patches:$' "$work/kustomization.yaml" || echo "patches:"
  echo "  - target: {kind: StatefulSet, name: taskstream-redis}"
  echo "    patch: '{\"apiVersion\":\"apps/v1\",\"kind\":\"StatefulSet\",\"metadata\":{\"name\":\"taskstream-redis\"},\"spec\":{\"template\":{\"metadata\":{\"annotations\":{\"taskstream.io/config-hash\":\"$(sha <"$work/redis.env")\"}}}}}'"
  echo "    options: {allowNameChange: false}"
} >> "$work/kustomization.yaml"
kubectl kustomize "$work" > "$work/all.yaml"

echo "--> namespaces and data services"
# (`notin` also matches objects without the label: everything but the app workloads.)
kubectl apply --server-side --field-manager=taskstream -f "$work/all.yaml" \
  -l 'app.kubernetes.io/component notin (migrate,topics,ingest,processors,scheduler,fanout)'

if [ -z "${DATABASE_URL:-}" ]; then
  echo "--> waiting for the CloudNativePG cluster"
  kubectl -n taskstream-data wait --for=condition=Ready cluster/taskstream-pg --timeout=15m
  DATABASE_URL="$(kubectl -n taskstream-data get secret taskstream-pg-app -o jsonpath='{.data.uri}' | base64 -d)"
fi
: "${REDIS_URL:=redis://:${REDIS_PASSWORD}@taskstream-redis.taskstream-data.svc.cluster.local:6379}"

echo "--> Secret taskstream-secrets"
# Through a 0600 file in the temp dir (removed on exit), not argv, so `ps` never shows them.
(
  umask 077
  {
    printf 'DATABASE_URL=%s\nREDIS_URL=%s\n' "$DATABASE_URL" "$REDIS_URL"
    [ -z "${JWT_SECRET:-}" ] || printf 'JWT_SECRET=%s\n' "$JWT_SECRET"
    [ -z "${JWT_JWKS_URL:-}" ] || printf 'JWT_JWKS_URL=%s\n' "$JWT_JWKS_URL"
    [ -z "${KAFKA_SASL_USERNAME:-}" ] || printf 'KAFKA_SASL_USERNAME=%s\n' "$KAFKA_SASL_USERNAME"
    [ -z "${KAFKA_SASL_PASSWORD:-}" ] || printf 'KAFKA_SASL_PASSWORD=%s\n' "$KAFKA_SASL_PASSWORD"
  } > "$work/secrets.env"
)
kubectl -n taskstream create secret generic taskstream-secrets --from-env-file="$work/secrets.env" \
  --dry-run=client -o yaml | kubectl apply --server-side --force-conflicts --field-manager=taskstream -f - >/dev/null
# Pods read the ConfigMap and the Secret at start only (envFrom): a hash of both on every pod
# template rolls them when either changed.
cm_doc() { # the ConfigMap taskstream-config out of the rendered manifests
  awk 'function flush() { if (kind == "ConfigMap" && nm == "taskstream-config") printf "%s", doc; doc = kind = nm = ""; meta = 0 }
    /^---$/ { flush(); next }
    { doc = doc $0 "\n" }
    /^kind: / { kind = $2 }
    meta && /^  name: / && nm == "" { nm = $2 }
    /^metadata:/ { meta = 1; next }
    /^[^ ]/ { meta = 0 }
    END { flush() }' "$work/all.yaml"
}
if [ -n "${KAFKA_SSL_CA_PEM:-}" ]; then
  printf '%s\n' "$KAFKA_SSL_CA_PEM" > "$work/kafka-ca.pem"
  kubectl -n taskstream create secret generic taskstream-kafka-ca --from-file=ca.pem="$work/kafka-ca.pem" \
    --dry-run=client -o yaml | kubectl apply --server-side --force-conflicts --field-manager=taskstream -f - >/dev/null
fi
config_hash="$({ cm_doc; cat "$work/secrets.env"; [ ! -f "$work/kafka-ca.pem" ] || cat "$work/kafka-ca.pem"; } | sha)"
{
  echo "  - target: {kind: Deployment, labelSelector: app.kubernetes.io/name=taskstream}"
  echo "    patch: '{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"any\"},\"spec\":{\"template\":{\"metadata\":{\"annotations\":{\"taskstream.io/config-hash\":\"$config_hash\"}}}}}'"
} >> "$work/kustomization.yaml"
kubectl kustomize "$work" > "$work/all.yaml"

echo "--> migrate and topics Jobs"
# The new images start only once their schema and topics exist: a processor of the new release on
# the old schema would find its functions and columns missing (it waits and retries, but nothing
# moves until the migration is done).
kubectl -n taskstream delete job taskstream-migrate taskstream-topics --ignore-not-found --wait=true
kubectl apply --server-side --field-manager=taskstream -f "$work/all.yaml" -l 'app.kubernetes.io/component in (migrate,topics)'
kubectl -n taskstream wait --for=condition=complete job/taskstream-topics --timeout=10m
kubectl -n taskstream wait --for=condition=complete job/taskstream-migrate --timeout=10m

# One-time hand-over of .spec.replicas to the HPA (Kubernetes docs, Server-Side Apply, "Transferring
# ownership"): releases before the HPA-managed Deployments dropped `replicas` applied it under this
# field manager; applying the manifests without it would otherwise reset them to 1 replica. A second
# manager keeps the current count; the HPA takes it over at its next scale. Harmless when repeated.
for d in ingest processors fanout; do
  n="$(kubectl -n taskstream get deployment "taskstream-$d" -o jsonpath='{.spec.replicas}' 2>/dev/null || true)"
  [ -n "$n" ] || continue
  printf 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: taskstream-%s, namespace: taskstream}\nspec: {replicas: %s}\n' "$d" "$n" |
    kubectl apply --server-side --force-conflicts --field-manager=handover-to-hpa --validate=false -f - >/dev/null
done

# Sum of taskstream_kafka_consumer_lag over every processors pod (read inside each pod: its metrics
# port is closed to everything but the monitoring namespace); empty when none answered.
processors_lag() {
  local total="" p v
  for p in $(kubectl -n taskstream get pods -l app.kubernetes.io/component=processors -o name); do
    v="$(kubectl -n taskstream exec "$p" -- node -e \
      'fetch("http://127.0.0.1:"+(process.env.PROCESSORS_PORT||8081)+"/metrics").then(r=>r.text()).then(t=>{let s=0;for(const l of t.split("\n"))if(/^taskstream_kafka_consumer_lag[{ ]/.test(l))s+=Number(l.split(" ").pop());console.log(s)})' \
      2>/dev/null)" || continue
    total=$(( ${total:-0} + ${v%.*} ))
  done
  echo "$total"
}

# Rollout order (README, "Upgrade"): processors first, so no older processor meets events a newer
# ingest or scheduler writes (it would dead-letter them); then the scheduler; then ingest and fanout.
# ROLLBACK=1 goes the other way: ingest and fanout, the scheduler, then, once the processors have
# applied everything the newer ingest wrote (consumer lag 0, up to ROLLBACK_LAG_TIMEOUT seconds,
# default 600), the processors.
if [ "${ROLLBACK:-0}" = 1 ]; then order=("ingest fanout" scheduler lag processors); else order=(processors scheduler "ingest fanout"); fi
for step in "${order[@]}"; do
  if [ "$step" = lag ]; then
    echo "--> waiting for the processors' consumer lag to reach 0 (ROLLBACK=1)"
    deadline=$(( $(date +%s) + ${ROLLBACK_LAG_TIMEOUT:-600} ))
    until lag="$(processors_lag)"; [ "$lag" = 0 ]; do
      if [ "$(date +%s)" -ge "$deadline" ]; then
        echo "processors' consumer lag is ${lag:-unknown} after ${ROLLBACK_LAG_TIMEOUT:-600} s: processors not rolled back;" \
          "re-run with ROLLBACK=1 once taskstream_kafka_consumer_lag is 0" >&2
        exit 3
      fi
      sleep 5
    done
    continue
  fi
  echo "--> rollout: $step"
  kubectl apply --server-side --field-manager=taskstream -f "$work/all.yaml" \
    -l "app.kubernetes.io/component in (${step// /,})"
  for d in $step; do
    kubectl -n taskstream rollout status "deployment/taskstream-$d" --timeout=10m
  done
done
echo "taskstream applied (overlay $overlay)"
