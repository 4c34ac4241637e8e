#!/usr/bin/env bash
# Daemon load benchmark (issue 11): the daemon's API on loopback under Debian's wrk, bounded in time, and
# N real promotions queued at once.
#
#   ./bench/daemon-load.sh [--duration SECONDS] [--connections N] [--pipelines N] [--promotions N] [--repeat N]
#
# Defaults: 10 s per read row, 200 connections, 50 generated pipelines beside the samples, 50 promotions, the
# two read rows twice (about 4 min here, most of it the untimed preparation: a slim base by debootstrap, a lock,
# one build and N validations).
#
# Preparation (not timed): a tiny pipeline (pinned 'hello', one script) on a slim base is locked, built and
# pushed to staging once; its image is put into N more staging repositories by cross-repository blob mounts
# and a manifest PUT of the same bytes (same digest), one per generated pipeline promo-NN; each is validated
# for real (orchestrator validate, containers with no network) into the bench's own state file. Then the
# daemon starts on that state.
#
# Rows: N promote jobs submitted at once through POST /api/jobs (curl, one connection each), waited for until
# every one is terminal and checked with skopeo against production; then GET /api/pipelines and GET /api/jobs
# (read token) under wrk. Per row: throughput, p50/p99 latency, errors (socket errors + non-2xx, or failed
# promotions), the daemon's peak RSS (VmHWM), RSS after the row (VmRSS) and its thread count.
#
# Everything lives under a unique repository prefix bench-<8 hex>/… and a temp folder, removed on exit,
# failure or Ctrl-C: the manifests in both registries, the local images under the prefix, the folder. The
# daemon it starts is stopped on exit; its log is kept as $TMPDIR/daemon-load-last.log. Needs the engine and
# registries of ./scripts/setup, skopeo and wrk (installed when missing).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"
staging=127.0.0.1:5001
production=127.0.0.1:5002
say() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }
duration=10 connections=200 generated=50 promotions=50 repeat=2
while [ $# -gt 0 ]; do
    case "$1" in
        --duration) duration="$2"; shift 2 ;;
        --connections) connections="$2"; shift 2 ;;
        --pipelines) generated="$2"; shift 2 ;;
        --promotions) promotions="$2"; shift 2 ;;
        --repeat) repeat="$2"; shift 2 ;;
        *) die "unknown argument '$1'; see the header of $0" ;;
    esac
done
for value in "$duration" "$connections" "$promotions" "$repeat"; do
    [[ "$value" =~ ^[1-9][0-9]*$ ]] || die "'$value' is not a positive integer; see the header of $0"
done
[[ "$generated" =~ ^[0-9]+$ ]] || die "--pipelines takes a number, not '$generated'"

if ! command -v wrk >/dev/null; then
    say "installing wrk (Debian package)"
    { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends wrk; } >/dev/null \
        || die "could not install wrk; run ./scripts/setup as root"
fi
command -v skopeo >/dev/null || die "skopeo is missing; run ./scripts/setup as root"
for registry in "$staging" "$production"; do
    curl -fsS --max-time 5 "http://$registry/v2/" >/dev/null || die "no registry answers at $registry; run ./scripts/setup"
done
docker info >/dev/null 2>&1 || die "no Docker Engine answers; run ./scripts/setup"

prefix="bench-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
work="$(mktemp -d "${TMPDIR:-/tmp}/orchestrator-daemon-load-XXXXXX")"
daemon_pid=""
base_repository="$prefix/base/debian-bookworm"
promo_names=()
for i in $(seq -w 1 "$promotions"); do promo_names+=("promo-$i"); done

# Every manifest a repository's tags reach, plus the referrers (SBOMs) its sha256-HEX fallback tags list,
# deleted by digest: the same sweep as bench/build-cache.sh and the integration tests' Janitor.

remove_local_images() { # under the prefix; the argument narrows it to one sub-path (e.g. apps/)
    local under="${1:-}" ids
    ids="$(docker images --no-trunc --format '{{.Repository}} {{.ID}}' \
        | awk -v p="/$prefix/$under" 'index($1, p) { print $2 }' | sort -u)"
    # shellcheck disable=SC2086 # one id per word
    [ -z "$ids" ] || docker rmi -f $ids >/dev/null 2>&1 || true
}

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
        kill -TERM "$daemon_pid" 2>/dev/null || true
        wait "$daemon_pid" 2>/dev/null || true
    fi
    cp "$work/daemon.log" "${TMPDIR:-/tmp}/daemon-load-last.log" 2>/dev/null || true
    say "cleaning up $prefix (registries, local images, $work)"
    for registry in "$staging" "$production"; do
        for repository in "$prefix/apps/promo-src" "${promo_names[@]/#/$prefix/apps/}" "$base_repository"; do
            delete_repository "$registry" "$repository"
        done
    done
    # Images built on the base first (the build's own tag included): the engine refuses to remove a parent
    # that still has children.
    remove_local_images apps/
    docker rmi -f orchestrator-build/promo-src:latest >/dev/null 2>&1 || true
    remove_local_images
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A realistic workspace: the samples as they are, plus N pipelines generated from toolbox (its lock copied
# under the new name, so they parse like real ones; the watcher marks them stale, which the read shows).
cp -r "$repo/base-images" "$repo/pipelines" "$work/"
[ -d "$repo/python-packages" ] && cp -r "$repo/python-packages" "$work/"
for i in $(seq -w 1 "$generated"); do
    bench_toolbox_copy "$work" "gen-$i" "bench-load/gen-$i"
done

# The promotions' own base (slim, under the prefix) and pipeline: what the integration tests' hello pipeline is.
bench_slim_base "$base_repository" >"$work/base-images/bench-bookworm.yaml"
promo_pipeline() { # name
    cat <<YAML
name: $1
version: 1.0.0
base: bench-bookworm/slim
repository: $prefix/apps/$1
packages:
  apt:
    hello: "2.10-3"
files:
  - { src: promo-src/greet.sh, dest: /app/greet.sh, mode: "0755" }
user: "10001"
entrypoint: ["/app/greet.sh"]
tags: ["{version}"]
validate:
  commands:
    - name: greets
      run: ["/app/greet.sh"]
      expect-stdout: "^hello from orchestrator$"
  files:
    - { path: /app/greet.sh, exists: true }
  metadata: { user: "10001" }
YAML
}
mkdir -p "$work/pipelines/promo-src"
printf '%s\n' '#!/bin/sh' 'echo hello from orchestrator' >"$work/pipelines/promo-src/greet.sh"
promo_pipeline promo-src >"$work/pipelines/promo-src.yaml"

port=$(( 20000 + RANDOM % 20000 ))
token="bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
{
    bench_config
    cat <<YAML
paths:
  work: work
daemon:
  urls: http://127.0.0.1:$port
  watch-interval-seconds: 30
  tokens:
    - { name: bench, secret-env: BENCH_TOKEN, roles: [read, build, validate, "promote:production"] }
YAML
} >"$work/orchestrator.yaml"
orchestrator() { "$repo/orchestrator" --config "$work/orchestrator.yaml" "$@"; }
now() { date +%s.%N; }

# 1. Preparation (not timed) ---------------------------------------------------------------------
prep_started=$(now)
say "workspace $work, prefix $prefix; building the slim base (not timed)"
orchestrator base build bench-bookworm/slim >"$work/prep.log" 2>&1 || { tail -20 "$work/prep.log" >&2; die "the base build failed"; }
say "locking and building promo-src"
orchestrator lock promo-src >>"$work/prep.log" 2>&1 || { tail -20 "$work/prep.log" >&2; die "locking promo-src failed"; }
source_reference="$(orchestrator build promo-src 2>>"$work/prep.log" | tail -n 1)"
[[ "$source_reference" == *@sha256:* ]] || { tail -20 "$work/prep.log" >&2; die "the build printed '$source_reference', not a digest-pinned reference"; }
digest="${source_reference#*@}"

# The same manifest bytes in each promo-NN repository: its blobs mounted from promo-src (no bytes travel),
# then the manifest PUT under the pipeline's tag; the registry answers with the digest it computed.
manifest_type="$(curl -fsSI -H 'Accept: application/vnd.oci.image.manifest.v1+json' -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    "http://$staging/v2/$prefix/apps/promo-src/manifests/$digest" | tr -d '\r' | sed -n 's/^[Cc]ontent-[Tt]ype: *//p')"
curl -fsS -H "Accept: $manifest_type" "http://$staging/v2/$prefix/apps/promo-src/manifests/$digest" -o "$work/manifest.json"
[[ "$manifest_type" == *manifest* && "$manifest_type" != *list* ]] || die "promo-src's manifest is a $manifest_type, not an image manifest"
blobs="$(grep -o '"digest": *"sha256:[0-9a-f]\{64\}"' "$work/manifest.json" | grep -o 'sha256:[0-9a-f]*' | sort -u)"
say "putting $digest into $promotions repositories and validating each (not timed)"
for name in "${promo_names[@]}"; do
    promo_pipeline "$name" >"$work/pipelines/$name.yaml"
    sed -e "s/^pipeline: \"promo-src\"/pipeline: \"$name\"/" "$work/pipelines/promo-src.lock.yaml" >"$work/pipelines/$name.lock.yaml"
    for blob in $blobs; do
        code="$(curl -sS -o /dev/null -w '%{http_code}' -X POST \
            "http://$staging/v2/$prefix/apps/$name/blobs/uploads/?mount=$blob&from=$prefix/apps/promo-src")"
        [ "$code" = 201 ] || die "mounting $blob into $prefix/apps/$name answered $code, not 201"
    done
    put="$(curl -fsS -o /dev/null -D - -X PUT -H "Content-Type: $manifest_type" --data-binary "@$work/manifest.json" \
        "http://$staging/v2/$prefix/apps/$name/manifests/1.0.0" | tr -d '\r' | sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: *//p')"
    [ "$put" = "$digest" ] || die "$prefix/apps/$name:1.0.0 is $put in staging, not $digest"
done
printf '%s\n' "${promo_names[@]}" | xargs -P 2 -I{} "$repo/orchestrator" --config "$work/orchestrator.yaml" validate {} --digest "$digest" \
    >>"$work/prep.log" 2>&1 || { tail -20 "$work/prep.log" >&2; die "a validation failed"; }
say "preparation took $(awk -v a="$prep_started" -v b="$(now)" 'BEGIN { printf "%.0f", b - a }') s"

# 2. The daemon ----------------------------------------------------------------------------------
export BENCH_TOKEN="$token"
say "starting the daemon on 127.0.0.1:$port with $(ls "$work/pipelines"/*.yaml | grep -vc '\.lock\.yaml$') pipelines"
"$repo/orchestrator" --config "$work/orchestrator.yaml" daemon >"$work/daemon.log" 2>&1 &
daemon_pid=$!
for _ in $(seq 1 600); do
    curl -fsS --max-time 1 "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    kill -0 "$daemon_pid" 2>/dev/null || { say "the daemon exited:"; tail -20 "$work/daemon.log" >&2; exit 1; }
    sleep 0.2
done
# The launcher execs the CLI, so $daemon_pid is the daemon itself.
status_of() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$daemon_pid/status"; }
api() { curl -fsS -H "Authorization: Bearer $token" "http://127.0.0.1:$port$1"; }

rows=()
row() { rows+=("$(printf '| %-28s | %9s | %8s | %8s | %6s | %9s | %9s | %7s |' "$@" "$(status_of Threads)")"); }
mib() { awk -v kb="$1" 'BEGIN { printf "%.0f MiB", kb / 1024 }'; }
percentile() { # p (0-100), milliseconds on stdin
    sort -n | awk -v p="$1" '{ v[NR] = $1 } END { i = int(NR * p / 100 + 0.999); if (i < 1) i = 1; printf "%.1f ms", v[i] }'
}

# Warm-up, so JIT and the first status build are not in the figures.
for _ in 1 2 3; do
    api /api/pipelines >/dev/null
    api /api/jobs >/dev/null
done
row "start (after warm-up)" "-" "-" "-" "-" "$(mib "$(status_of VmHWM)")" "$(mib "$(status_of VmRSS)")"

# 3. N promotions at once: each its own connection, each timed; then until every job is terminal ----
say "submitting $promotions promote jobs at once"
started=$(now)
printf '%s\n' "${promo_names[@]}" | xargs -P "$promotions" -I{} curl -sS -o /dev/null -w "%{http_code} %{time_total}\n" \
    -H "Authorization: Bearer $token" -H "Content-Type: application/json" \
    -d "{\"kind\":\"promote\",\"pipeline\":\"{}\",\"digest\":\"$digest\",\"stage\":\"production\"}" \
    "http://127.0.0.1:$port/api/jobs" >"$work/promotions.txt"
submitted=$(now)
accepted=$(awk '$1 == 202' "$work/promotions.txt" | wc -l)
p50=$(awk '{ print $2 * 1000 }' "$work/promotions.txt" | percentile 50)
p99=$(awk '{ print $2 * 1000 }' "$work/promotions.txt" | percentile 99)
row "POST /api/jobs: $promotions promotes" "$(awk -v n="$promotions" -v a="$started" -v b="$submitted" 'BEGIN { printf "%.0f/s", n / (b - a) }')" \
    "$p50" "$p99" "$((promotions - accepted))" "$(mib "$(status_of VmHWM)")" "$(mib "$(status_of VmRSS)")"

states() { api "/api/jobs?kind=promote&limit=1000" | grep -o '"state":"[a-z]*"' | cut -d'"' -f4; }
deadline=$(( $(date +%s) + 600 ))
while [ "$(states | grep -cE '^(queued|running)$')" -gt 0 ]; do
    [ "$(date +%s)" -lt "$deadline" ] || die "promotions still not terminal after 600 s"
    sleep 0.2
done
drained=$(now)
succeeded=$(states | grep -c '^succeeded$' || true)
failed=$((accepted - succeeded))
say "checking each promotion in production with skopeo"
verified=0
for name in "${promo_names[@]}"; do
    served="$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$production/$prefix/apps/$name:1.0.0" 2>/dev/null || true)"
    if [ "$served" = "$digest" ]; then verified=$((verified + 1)); else say "$prefix/apps/$name:1.0.0 in production is '${served:-absent}', not $digest"; fi
done
drain_seconds=$(awk -v a="$started" -v b="$drained" 'BEGIN { printf "%.1f", b - a }')
row "promotions until terminal" "$(awk -v n="$succeeded" -v s="$drain_seconds" 'BEGIN { printf "%.1f/s", n / s }')" "-" "-" \
    "$((promotions - verified))" "$(mib "$(status_of VmHWM)")" "$(mib "$(status_of VmRSS)")"

# 4. Reads under wrk -----------------------------------------------------------------------------
read_row() { # name, path
    say "wrk: $connections connections on GET $2 for ${duration}s"
    out="$(wrk -t2 -c"$connections" -d"${duration}s" --timeout 5s --latency -H "Authorization: Bearer $token" "http://127.0.0.1:$port$2")"
    rps=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' <<<"$out")
    p50=$(awk '$1 == "50%" { print $2 }' <<<"$out")
    p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
    errors=$(awk '/Socket errors/ { gsub(",", ""); s = $4 + $6 + $8 + $10 } /Non-2xx/ { n = $5 } END { print s + n + 0 }' <<<"$out")
    row "$1" "$rps/s" "$p50" "$p99" "$errors" "$(mib "$(status_of VmHWM)")" "$(mib "$(status_of VmRSS)")"
}
for round in $(seq 1 "$repeat"); do
    suffix=""; [ "$round" -gt 1 ] && suffix=" ($round)"
    read_row "GET /api/pipelines$suffix" /api/pipelines
    read_row "GET /api/jobs$suffix" /api/jobs
done

# Idle: Kestrel's memory pool (.NET 10) evicts unused blocks and the GC decommits free regions when the load stops.
sleep 30
row "idle 30 s after the reads" "-" "-" "-" "-" "$(mib "$(status_of VmHWM)")" "$(mib "$(status_of VmRSS)")"

printf '\n%s, %s, %s cores, load average %s at the end, %s pipelines, %s connections, %ss per read row\n' \
    "$(date -u '+%Y-%m-%d %H:%M UTC')" "$(uname -m)" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" \
    "$(ls "$work/pipelines"/*.yaml | grep -vc '\.lock\.yaml$')" "$connections" "$duration"
printf '| %-28s | %9s | %8s | %8s | %6s | %9s | %9s | %7s |\n' row throughput p50 p99 errors "peak RSS" "RSS after" threads
printf '|%s|%s|%s|%s|%s|%s|%s|%s|\n' "------------------------------" "-----------" "----------" "----------" "--------" "-----------" "-----------" "---------"
printf '%s\n' "${rows[@]}"
printf '\npromotions: %s submitted, %s accepted (%s%%), %s succeeded, %s failed, %s/%s serve %s in production (skopeo); drained in %s s (%s jobs/s), daemon concurrency %s\n' \
    "$promotions" "$accepted" "$(awk -v a="$accepted" -v n="$promotions" 'BEGIN { printf "%.0f", 100 * a / n }')" "$succeeded" "$failed" \
    "$verified" "$promotions" "${digest:0:19}…" "$drain_seconds" "$(awk -v n="$succeeded" -v s="$drain_seconds" 'BEGIN { printf "%.2f", n / s }')" \
    "$(grep -o 'concurrency: *[0-9]*' "$work/orchestrator.yaml" | grep -o '[0-9]*' || echo 2)"
[ "$failed" -eq 0 ] && [ "$verified" -eq "$promotions" ] || exit 1
