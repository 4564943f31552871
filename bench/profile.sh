#!/usr/bin/env bash
# Profiles the broker under one workload family (or, with --filter, one workload) with perf (software cpu-clock
# events: they work in VMs without hardware counters), and counts its syscalls
# with strace. Usage, from the repository root after `make bench` built release:
#
#   bench/profile.sh produce --filter "acks=1 no-key 1p" --produce-secs 10
#   bench/profile.sh consume --consume-mib 2048
#
# Output in target/bench-profile/<family>/: perf.data, report.txt (flat, by
# symbol), callers.txt (call graph), syscalls.txt (strace -c, a second run).
set -euo pipefail
family=${1:?usage: bench/profile.sh produce|consume|latency [tributary-bench args]}
shift
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out="$root/target/bench-profile/$family"
rm -rf "$out" && mkdir -p "$out"
# Copies, so a rebuild during the run cannot leave perf without symbols.
cp "$root/target/release/tributary-broker" "$out/tributary-broker"
cp "$root/target/release/tributary-bench" "$out/tributary-bench"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

run() { # $1 = tool prefix for the broker's pid, writes into $out
  local data="$out/data"
  rm -rf "$data"
  "$out/tributary-broker" --override "listeners=PLAINTEXT://127.0.0.1:$port" --override "log.dirs=$data" \
    >"$out/broker.log" 2>&1 &
  local pid=$!
  for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
  "$@" "$pid" &
  local tool=$!
  sleep 0.5
  "$out/tributary-bench" --bootstrap "127.0.0.1:$port" --broker-pid "$pid" --only "$family" --runs 1 \
    --out "$out/bench.md" --plots "$out/plots" "${EXTRA[@]}" 2>&1 | grep -v '^|' || true
  kill -INT "$tool" 2>/dev/null || true
  wait "$tool" 2>/dev/null || true
  kill "$pid"; wait "$pid" 2>/dev/null || true
  rm -rf "$data"
}
EXTRA=("$@")
perf_rec() { exec perf record -F 499 -e cpu-clock -g -p "$1" -o "$out/perf.data" 2>"$out/perf.log"; }
strace_c() { exec strace -c -f -p "$1" -o "$out/syscalls.txt"; }
echo "== perf record (cpu-clock) during: tributary-bench --only $family $*"
run perf_rec
perf report -i "$out/perf.data" --no-children --sort dso,sym --stdio 2>/dev/null | grep -v '^$' | head -80 >"$out/report.txt" || true
perf report -i "$out/perf.data" --children --sort sym --stdio -g caller,0.5,callee --percent-limit 2 2>/dev/null >"$out/callers.txt" || true
if command -v strace >/dev/null; then
  echo "== strace -c during the same workload (a second run: strace slows the broker)"
  run strace_c
fi
echo "== top symbols ($out/report.txt)"
grep '%' "$out/report.txt" | grep -v '^#' | head -25
