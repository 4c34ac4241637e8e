#!/usr/bin/env bash
# Daemon load benchmark (issue 11): the daemon's API on loopback under Debian's wrk, bounded in time.
#
#   ./bench/daemon-load.sh [--duration SECONDS] [--connections N] [--pipelines N]
#
# Defaults: 10 s per read row, 200 connections, 50 generated pipelines beside the samples (about 1 min).
# Rows: 50 promote jobs submitted at once through POST /api/jobs (curl, one connection each), then
# GET /api/pipelines and GET /api/jobs (read token) under wrk. Per row: throughput, p50/p99 latency,
# errors (socket errors + non-2xx) and the daemon's peak RSS (VmHWM) and RSS after the row (VmRSS).
# Everything lives in a temp folder (workspace, state, daemon log) removed on exit; the daemon it
# starts is stopped on exit; its log is kept as $TMPDIR/daemon-load-last.log. No registry or engine state is touched: promote jobs of digests that were
# never validated are refused by the worker (exit 1), so that row measures acceptance and queueing.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
say() { printf 'bench: %s\n' "$*" >&2; }
duration=10 connections=200 generated=50
while [ $# -gt 0 ]; do
    case "$1" in
        --duration) duration="$2"; shift 2 ;;
        --connections) connections="$2"; shift 2 ;;
        --pipelines) generated="$2"; shift 2 ;;
        *) say "unknown argument '$1'; see the header of $0"; exit 2 ;;
    esac
done

if ! command -v wrk >/dev/null; then
    say "installing wrk (Debian package)"
    { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends wrk; } >/dev/null \
        || { say "error: could not install wrk; run ./scripts/setup as root"; exit 1; }
fi

work="$(mktemp -d /tmp/orchestrator-daemon-load-XXXXXX)"
daemon_pid=""
cleanup() {
    if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
        kill -TERM "$daemon_pid" 2>/dev/null || true
        wait "$daemon_pid" 2>/dev/null || true
    fi
    cp "$work/daemon.log" "${TMPDIR:-/tmp}/daemon-load-last.log" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# A realistic workspace: the samples as they are, plus N pipelines generated from toolbox (its lock copied
# under the new name, so they parse like real ones; the watcher marks them stale, which the read shows).
cp -r "$repo/base-images" "$repo/pipelines" "$work/"
[ -d "$repo/python-packages" ] && cp -r "$repo/python-packages" "$work/"
for i in $(seq -w 1 "$generated"); do
    sed -e "s/^name: toolbox/name: gen-$i/" -e "s#^repository: tools/toolbox#repository: bench-load/gen-$i#" \
        "$work/pipelines/toolbox.yaml" >"$work/pipelines/gen-$i.yaml"
    sed -e "s/^pipeline: \"toolbox\"/pipeline: \"gen-$i\"/" "$work/pipelines/toolbox.lock.yaml" >"$work/pipelines/gen-$i.lock.yaml"
done
port=$(( 20000 + RANDOM % 20000 ))
token="bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
cat >"$work/orchestrator.yaml" <<YAML
engine:
  endpoint: unix:///var/run/docker.sock
stages: [staging, production]
registries:
  staging:    { url: http://127.0.0.1:5001 }
  production: { url: http://127.0.0.1:5002 }
state:
  path: state/state.db
daemon:
  urls: http://127.0.0.1:$port
  watch-interval-seconds: 30
  tokens:
    - { name: bench, secret-env: BENCH_TOKEN, roles: [read, build, validate, "promote:production"] }
YAML

export BENCH_TOKEN="$token"
say "starting the daemon on 127.0.0.1:$port with $(ls "$work/pipelines"/*.yaml | grep -vc '\.lock\.yaml$') pipelines"
"$repo/orchestrator" --config "$work/orchestrator.yaml" daemon >"$work/daemon.log" 2>&1 &
daemon_pid=$!
for _ in $(seq 1 600); do
    curl -fsS --max-time 1 "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    kill -0 "$daemon_pid" 2>/dev/null || { say "the daemon exited:"; tail -20 "$work/daemon.log" >&2; exit 1; }
    sleep 0.2
done
# The launcher script execs dotnet, so $daemon_pid is the daemon itself.
status_of() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$daemon_pid/status"; }

rows=()
row() { rows+=("$(printf '| %-28s | %9s | %8s | %8s | %6s | %9s | %9s |' "$@")"); }
mib() { awk -v kb="$1" 'BEGIN { printf "%.0f MiB", kb / 1024 }'; }

# Warm-up, so JIT and the first status build are not in the figures.
for _ in 1 2 3; do
    curl -fsS -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/pipelines" >/dev/null
    curl -fsS -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/jobs" >/dev/null
done
row "start (after warm-up)" "-" "-" "-" "-" "$(mib "$(status_of VmHWM)")" "$(mib "$(status_of VmRSS)")"

# 50 promotions at once: each its own connection, each timed.
say "submitting 50 promote jobs at once"
started=$(date +%s.%N)
seq 1 50 | xargs -P 50 -I{} sh -c '
    digest="sha256:$(printf "%064x" {})"
    curl -sS -o /dev/null -w "%{http_code} %{time_total}\n" -H "Authorization: Bearer $BENCH_TOKEN" -H "Content-Type: application/json" \
        -d "{\"kind\":\"promote\",\"pipeline\":\"gen-01\",\"digest\":\"$digest\",\"stage\":\"production\"}" \
        "http://127.0.0.1:'"$port"'/api/jobs"' >"$work/promotions.txt"
elapsed=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
accepted=$(awk '$1 == 202' "$work/promotions.txt" | wc -l)
p50=$(awk '{ print $2 * 1000 }' "$work/promotions.txt" | sort -n | awk '{ v[NR] = $1 } END { printf "%.1f ms", v[int((NR + 1) / 2)] }')
p99=$(awk '{ print $2 * 1000 }' "$work/promotions.txt" | sort -n | awk '{ v[NR] = $1 } END { i = int(NR * 0.99 + 0.999); printf "%.1f ms", v[i] }')
row "POST /api/jobs: 50 promotes" "$(awk -v n=50 -v s="$elapsed" 'BEGIN { printf "%.0f/s", n / s }')" "$p50" "$p99" "$((50 - accepted))" \
    "$(mib "$(status_of VmHWM)")" "$(mib "$(status_of VmRSS)")"

read_row() { # name, path
    say "wrk: $connections connections on GET $2 for ${duration}s"
    out="$(wrk -t2 -c"$connections" -d"${duration}s" --timeout 5s --latency -H "Authorization: Bearer $token" "http://127.0.0.1:$port$2")"
    rps=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' <<<"$out")
    p50=$(awk '$1 == "50%" { print $2 }' <<<"$out")
    p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
    errors=$(awk '/Socket errors/ { gsub(",", ""); s = $4 + $6 + $8 + $10 } /Non-2xx/ { n = $5 } END { print s + n + 0 }' <<<"$out")
    row "$1" "$rps/s" "$p50" "$p99" "$errors" "$(mib "$(status_of VmHWM)")" "$(mib "$(status_of VmRSS)")"
}
read_row "GET /api/pipelines" /api/pipelines
read_row "GET /api/jobs" /api/jobs
read_row "GET /api/pipelines (again)" /api/pipelines
read_row "GET /api/jobs (again)" /api/jobs

printf '\n%s, %s, %s cores, %s pipelines, %s connections, %ss per read row\n' \
    "$(date -u +%Y-%m-%d)" "$(uname -m)" "$(nproc)" "$(ls "$work/pipelines"/*.yaml | grep -vc '\.lock\.yaml$')" "$connections" "$duration"
printf '| %-28s | %9s | %8s | %8s | %6s | %9s | %9s |\n' row throughput p50 p99 errors "peak RSS" "RSS after"
printf '|%s|%s|%s|%s|%s|%s|%s|\n' "------------------------------" "-----------" "----------" "----------" "--------" "-----------" "-----------"
printf '%s\n' "${rows[@]}"
