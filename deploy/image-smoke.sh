#!/usr/bin/env bash
# The image's commands, run outside Docker (there is no Docker engine here): in a clean directory,
# the Dockerfile's own install and build RUN lines (read from the Dockerfile, not repeated here),
# its COPY --from=build layout, then its ENTRYPOINT + CMD against a real throwaway stack, as the
# container's uid would run them: `migrate`, `topics`, `all` ready on every port, HEALTHCHECK,
# a write answered 202 and applied, `npm start` (the image's package.json) and a clean SIGTERM.
# Same Node major (22) and the same Debian packages as the image's stages (bookworm).
#   STACK_PORT_BASE  the smoke stack's ports (<base>9092, <base>5432, <base>6379, <base>808x);
#                    default 3 (CI runs it after make test-faults, which used 3)
#   KEEP_SMOKE_DIR=1 keep the clean directory for inspection
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=/dev/null
. "$here/lib.sh" # Node 22 on PATH, REPO_ROOT
export STACK_PROFILE=image STACK_PORT_BASE="${STACK_PORT_BASE:-3}"
dockerfile="$REPO_ROOT/Dockerfile"
log() { printf '\033[1;36m[image-smoke]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[image-smoke]\033[0m %s\n' "$*" >&2; exit 1; }

# The RUN lines of the build stage that install and build (one line each, see the Dockerfile).
run_line() { grep -E "^RUN .*$1" "$dockerfile" | head -1 | sed -E 's/^RUN +//; s/--mount=[^ ]+ +//g'; }
install_cmd="$(run_line 'npm ci')"
build_cmd="$(run_line 'npm run build')"
[ -n "$install_cmd" ] && [ -n "$build_cmd" ] || die "Dockerfile: no 'RUN ... npm ci' or 'RUN npm run build ...' line"
# ENTRYPOINT and CMD (exec form, JSON arrays).
entrypoint=()
while IFS= read -r a; do entrypoint+=("$a"); done < <(sed -n 's/^ENTRYPOINT //p' "$dockerfile" | node -e 'for (const a of JSON.parse(require("fs").readFileSync(0, "utf8"))) console.log(a)')
default_cmd="$(sed -n 's/^CMD //p' "$dockerfile" | node -e 'console.log(JSON.parse(require("fs").readFileSync(0, "utf8")).join(" "))')"
# The base packages of both stages: what the image installs must be on this machine too.
pkgs="$(awk '/apt-get install/{f=1} f{print} /rm -rf \/var\/lib\/apt/{f=0}' "$dockerfile" | tr ' \\&' '\n' | grep -E '^[a-z0-9][a-z0-9.+-]+$' | grep -vE '^(apt-get|install|rm|y|no-install-recommends|var|lib|apt|lists)$' | sort -u)"
missing=()
for p in $pkgs; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  log "apt-get install ${missing[*]} (the image's base packages)"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
[ "$(node -p 'process.versions.node.split(".")[0]')" = 22 ] || die "node is $(node --version), the image runs Node 22"

work="$(mktemp -d /tmp/taskstream-image-smoke.XXXXXX)"
app_pid=""
cleanup() {
  set +e
  [ -z "$app_pid" ] || kill -TERM "$app_pid" 2>/dev/null
  "$REPO_ROOT/stack/down.sh" >/dev/null 2>&1
  [ "${KEEP_SMOKE_DIR:-0}" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT

# The build context: the repository's files minus .dockerignore's top-level exclusions.
log "build context (git ls-files minus .dockerignore) in $work/build"
mkdir -p "$work/build" "$work/app"
(cd "$REPO_ROOT" && git ls-files -co --exclude-standard -z | tar -cf - --null -T -) | tar -xf - -C "$work/build"
while IFS= read -r pat; do
  case "$pat" in '' | '#'* | '!'* | *'*'*) continue ;; esac
  rm -rf "${work:?}/build/${pat#/}"
done < "$REPO_ROOT/.dockerignore"
grep -q '^!deploy/healthcheck.mjs' "$REPO_ROOT/.dockerignore" && mkdir -p "$work/build/deploy" && cp "$REPO_ROOT/deploy/healthcheck.mjs" "$work/build/deploy/"
lock_before="$(sha256sum "$work/build/package-lock.json" | cut -d' ' -f1)"

# The Dockerfile's ENV of the build stage.
export CKJS_LINKING=dynamic
t=$SECONDS
log "RUN $install_cmd"
(cd "$work/build" && bash -euo pipefail -c "$install_cmd")
[ "$(sha256sum "$work/build/package-lock.json" | cut -d' ' -f1)" = "$lock_before" ] || die "the install modified package-lock.json"
log "RUN $build_cmd"
(cd "$work/build" && bash -euo pipefail -c "$build_cmd")
[ ! -e "$work/build/node_modules/tsx" ] || die "tsx is still installed after the prune: production must not need it"
log "install + build took $((SECONDS - t))s"
# COPY --from=build ... (the runtime stage's layout)
for p in $(sed -n 's#^COPY --from=build [^/]*/app/\([^ ]*\) .*#\1#p' "$dockerfile"); do cp -a "$work/build/$p" "$work/app/$p"; done
while read -r src; do mkdir -p "$work/app/$(dirname "$src")"; cp -a "$work/build/$src" "$work/app/$src"; done \
  < <(sed -n 's#^COPY --chown=[^ ]* \([^ .][^ ]*\) \./.*#\1#p' "$dockerfile")
unset CKJS_LINKING
[ -f "$work/app/dist/bin/taskstream.js" ] || die "no dist/bin/taskstream.js in the runtime layout"

# tini when installed (the image's PID 1), else node directly.
if [ "${entrypoint[0]}" = /usr/bin/tini ] && [ ! -x /usr/bin/tini ]; then entrypoint=("${entrypoint[@]:2}"); fi
log "ENTRYPOINT ${entrypoint[*]}  CMD $default_cmd"

stack_env="$("$REPO_ROOT/stack/up.sh")" || die "the smoke stack did not start"
eval "$stack_env"
b=$STACK_PORT_BASE
# The Dockerfile's runtime ENV, a production profile (no dev secret), and the stack's URLs.
run_env=(env -i PATH="$PATH" HOME="$work" NODE_ENV=production HOST=127.0.0.1
  INGEST_PORT="${b}8080" PROCESSORS_PORT="${b}8081" SCHEDULER_PORT="${b}8082" FANOUT_PORT="${b}8090"
  KAFKA_BROKERS="$KAFKA_BROKERS" DATABASE_URL="$DATABASE_URL" REDIS_URL="$REDIS_URL" TOPIC_PREFIX=image.
  JWT_SECRET="image-smoke-$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')" LOG_LEVEL=warn TASKSTREAM_PROCESS=all)
cd "$work/app"
for c in migrate topics; do
  "${run_env[@]}" "${entrypoint[@]}" "$c" >/dev/null || die "the image's '$c' command failed"
done
log "migrate and topics ran from dist/"
"${run_env[@]}" "${entrypoint[@]}" $default_cmd >"$work/app.log" 2>&1 &
app_pid=$!
deadline=$((SECONDS + 90))
for port in "${b}8080" "${b}8081" "${b}8082" "${b}8090"; do
  until curl -sf "http://127.0.0.1:$port/readyz" >/dev/null; do
    kill -0 "$app_pid" 2>/dev/null || { cat "$work/app.log" >&2; die "the image's '$default_cmd' exited"; }
    [ "$SECONDS" -lt "$deadline" ] || { cat "$work/app.log" >&2; die "not ready on :$port within 90s"; }
    sleep 0.3
  done
done
log "all four processes ready"
"${run_env[@]}" node deploy/healthcheck.mjs || die "the HEALTHCHECK command failed"
token="$("${run_env[@]}" "${entrypoint[@]}" token smoke-user)"
res="$(curl -s -w ' %{http_code}' -X POST "http://127.0.0.1:${b}8080/api/smoke-user/tasks" -H "authorization: Bearer $token" \
  -H 'content-type: application/json' -d '{"title":"from the image commands"}')"
[ "${res##* }" = 202 ] || die "POST /tasks answered ${res##* }: ${res% *}"
task_id="$(node -e 'console.log(JSON.parse(process.argv[1]).task.id)' "${res% *}")"
until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${b}8080/api/smoke-user/tasks/$task_id" -H "authorization: Bearer $token")" = 200 ]; do
  [ "$SECONDS" -lt "$deadline" ] || die "the task was not applied within the deadline"
  sleep 0.2
done
log "a write was accepted (202) and applied"
# `npm start` as the image's package.json defines it: no tsc there, so it runs dist/ directly.
out="$("${run_env[@]}" npm start -s -- check-config all)" || die "npm start -- check-config failed: $out"
log "npm start: $out"
kill -TERM "$app_pid"
rc=0; wait "$app_pid" || rc=$?
app_pid=""
[ "$rc" = 0 ] || { cat "$work/app.log" >&2; die "SIGTERM: exit $rc, want 0"; }
log "ok: the Dockerfile's install, build and start commands work outside Docker (clean SIGTERM)"
