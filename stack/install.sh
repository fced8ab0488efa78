#!/usr/bin/env bash
# Installs what the local stack and the tests need, skipping whatever is already there:
# Debian packages (PostgreSQL, Redis, the libraries the Kafka client links to, Java 17),
# npm dependencies (the Kafka client built against Debian's librdkafka deps) and the Kafka broker jars.
source "$(dirname "$0")/lib.sh"

apt_packages=()
[ -n "$(pg_bin)" ] || apt_packages+=(postgresql postgresql-contrib)
command -v redis-server >/dev/null || apt_packages+=(redis-server)
command -v java >/dev/null || apt_packages+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || apt_packages+=(maven)
# Debian's Chromium for the real-browser tests (playwright-core drives /usr/bin/chromium; Playwright's
# own browser download cannot reach its CDN here).
[ -x /usr/bin/chromium ] || apt_packages+=(chromium)
for pkg in libssl-dev zlib1g-dev libzstd-dev libsasl2-dev python3 make g++; do
  dpkg -s "$pkg" >/dev/null 2>&1 || apt_packages+=("$pkg")
done
if [ ${#apt_packages[@]} -gt 0 ]; then
  log "apt-get install ${apt_packages[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${apt_packages[@]}" >/dev/null
  # The Debian packages start system-wide services on default ports; ours run on their own ports,
  # so leave those alone.
fi

# npm: reinstall only when package.json or the lockfile changed since the last install.
# `npm ci` installs exactly the committed lockfile and never rewrites it (the lockfile lists every
# platform's optional packages, so npm 11 accepts it); the Dockerfile runs the same command.
stamp="$ROOT/node_modules/.taskstream-install"
want="$(cat "$ROOT/package.json" "$ROOT/package-lock.json" | sha256sum | cut -d' ' -f1) node-$(node -p process.versions.modules)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ] || [ ! -d "$ROOT/node_modules/@confluentinc/kafka-javascript/build" ]; then
  log "npm ci on node $(node --version) (builds the Kafka client against Debian's libraries; ~5 min the first time)"
  (cd "$ROOT" && CKJS_LINKING=dynamic npm ci --no-audit --no-fund --loglevel=error)
  echo "$want" > "$stamp"
fi

if [ ! -f "$KAFKA_LIBS/.complete" ]; then
  log "fetching Apache Kafka $KAFKA_VERSION jars from Maven Central into $KAFKA_LIBS"
  mkdir -p "$KAFKA_LIBS"
  mvn -q -B -f "$ROOT/stack/kafka/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$KAFKA_LIBS"
  touch "$KAFKA_LIBS/.complete"
fi
