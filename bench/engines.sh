#!/usr/bin/env bash
# Engine pool benchmark (issue 14, item 5): 6 builds through the daemon with 1 engine, then with 2, in one run;
# jobs per minute of each and the ratio.
#
#   ./bench/engines.sh [--builds N] [--slots S]
#
# Defaults: 6 builds, 2 slots per engine (so 2 builds at once on one engine, 4 on two; daemon.concurrency is
# the total). The second engine is the one scripts/setup-second-engine starts on
# unix:///run/orchestrator-engine2/docker.sock; the first is the shared /var/run/docker.sock.
#
# Preparation (not timed): a slim base by debootstrap under a unique prefix, one small pipeline (pinned 'hello' and a
# script) locked once and copied N times with its lock (bench-eng-01 … N: same inputs, each its own repository).
# Rounds (timed): a daemon on the workspace with 'engines:' listing one engine, then both; N build jobs submitted at
# once with "noCache": true (so every build really runs apt in the engine: neither the engine's layer cache nor
# Orchestrator's build cache short-cuts it), timed from the first submission to the last job's end. Between rounds the
# bench's own build images (orchestrator-build/bench-eng-*) are removed on both engines; 'docker builder prune' is not
# run, since it would prune every user's cache on the shared engine (no-cache builds do not read it anyway).
#
# Everything lives under the prefix bench-<8 hex>/… and a temp folder, removed on exit, failure or Ctrl-C: both
# registries' manifests, the local images under the prefix on both engines, the folder. Needs scripts/setup and
# scripts/setup-second-engine (root).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"
staging=127.0.0.1:5001
production=127.0.0.1:5002
first=unix:///var/run/docker.sock
second=unix:///run/orchestrator-engine2/docker.sock
say() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }
builds=6 slots=2
while [ $# -gt 0 ]; do
    case "$1" in
        --builds) builds="$2"; shift 2 ;;
        --slots) slots="$2"; shift 2 ;;
        *) die "unknown argument '$1'; see the header of $0" ;;
    esac
done
for value in "$builds" "$slots"; do
    [[ "$value" =~ ^[1-9][0-9]*$ ]] || die "'$value' is not a positive integer; see the header of $0"
done
for registry in "$staging" "$production"; do
    curl -fsS --max-time 5 "http://$registry/v2/" >/dev/null || die "no registry answers at $registry; run ./scripts/setup"
done
docker -H "$first" info >/dev/null 2>&1 || die "no Docker Engine answers at $first; run ./scripts/setup"
docker -H "$second" info >/dev/null 2>&1 || die "no Docker Engine answers at $second; run ./scripts/setup-second-engine"

prefix="bench-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
work="$(mktemp -d "${TMPDIR:-/tmp}/orchestrator-engines-XXXXXX")"
base_repository="$prefix/base/debian-bookworm"
port=5191
token="bench-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
daemon_pid=""
names=()
for i in $(seq -w 1 "$builds"); do names+=("bench-eng-$i"); done

remove_build_images() { # on both engines: this bench's engine-local build tags
    local host name
    for host in "$first" "$second"; do
        for name in "${names[@]}"; do docker -H "$host" rmi -f "orchestrator-build/$name:latest" >/dev/null 2>&1 || true; done
    done
}

remove_local_images() { # under the prefix, on both engines
    local host ids
    for host in "$first" "$second"; do
        ids="$(docker -H "$host" images --no-trunc --format '{{.Repository}} {{.ID}}' | awk -v p="/$prefix/" 'index($1, p) { print $2 }' | sort -u)"
        # shellcheck disable=SC2086 # one id per word
        [ -z "$ids" ] || docker -H "$host" rmi -f $ids >/dev/null 2>&1 || true
    done
}

stop_daemon() {
    if [ -n "$daemon_pid" ]; then
        kill -TERM "$daemon_pid" 2>/dev/null || true
        wait "$daemon_pid" 2>/dev/null || true
        daemon_pid=""
    fi
}

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    stop_daemon
    say "cleaning up $prefix (registries, local images on both engines, $work)"
    for registry in "$staging" "$production"; do
        for name in "${names[@]}"; do delete_repository "$registry" "$prefix/apps/$name"; done
        delete_repository "$registry" "$base_repository"
    done
    remove_build_images
    remove_local_images
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

orchestrator() { "$repo/orchestrator" --config "$work/orchestrator.yaml" "$@"; }
now() { date +%s.%N; }

write_config() { # engines-yaml-lines
    {
        bench_config | sed '/^engine:/,+1d'
        printf 'paths:\n  work: work\nengines:\n%s\n' "$1"
        cat <<YAML
daemon:
  concurrency: $((slots * 2))
  watch-interval-seconds: 3600
  tokens:
    - { name: bench, secret-env: BENCH_ENGINES_TOKEN, roles: [read, build, validate] }
YAML
    } >"$work/orchestrator.yaml"
}

# 1. Preparation (not timed) ---------------------------------------------------------------------
mkdir -p "$work/base-images" "$work/pipelines/shared"
write_config "  - { name: engine-1, endpoint: $first, slots: $slots }"
bench_slim_base "$base_repository" >"$work/base-images/debian-bookworm.yaml"
# One script for every copy: the copies differ from the locked pipeline only in name and repository, so its lock holds for them.
printf '#!/bin/sh\necho hello from the engine bench\n' >"$work/pipelines/shared/greet.sh"
cat >"$work/pipelines/${names[0]}.yaml" <<YAML
name: ${names[0]}
version: 1.0.0
base: debian-bookworm/slim
repository: $prefix/apps/${names[0]}
packages:
  apt:
    hello: "2.10-3"
files:
  - { src: shared/greet.sh, dest: /app/greet.sh, mode: "0755" }
entrypoint: ["/app/greet.sh"]
tags: ["{version}"]
YAML
say "workspace $work, prefix $prefix; building the slim base and locking ${names[0]} (not timed)"
orchestrator base build debian-bookworm/slim >/dev/null
orchestrator lock "${names[0]}" >/dev/null
for name in "${names[@]:1}"; do
    sed -e "s/${names[0]}/$name/g" "$work/pipelines/${names[0]}.yaml" >"$work/pipelines/$name.yaml"
    sed -e "s/${names[0]}/$name/g" "$work/pipelines/${names[0]}.lock.yaml" >"$work/pipelines/$name.lock.yaml"
done
orchestrator check >/dev/null || die "the copied pipelines do not check: $(orchestrator check 2>&1 | tail -5)"

# 2. Rounds (timed) ------------------------------------------------------------------------------
round() { # label engines-yaml-lines; sets round_seconds and round_used (engine×count)
    local label=$1 ids=() id start end state engines_used=""
    remove_build_images
    write_config "$2"
    BENCH_ENGINES_TOKEN="$token" "$repo/orchestrator" daemon --config "$work/orchestrator.yaml" --urls "http://127.0.0.1:$port" \
        >"$work/daemon-$label.log" 2>&1 &
    daemon_pid=$!
    for _ in $(seq 1 240); do curl -fsS --max-time 2 "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.25; done
    curl -fsS --max-time 2 "http://127.0.0.1:$port/healthz" >/dev/null || die "the daemon did not become healthy; see $work/daemon-$label.log"
    start=$(now)
    for name in "${names[@]}"; do
        id="$(curl -fsS -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
            -d "{\"kind\":\"build\",\"pipeline\":\"$name\",\"noCache\":true}" "http://127.0.0.1:$port/api/jobs" \
            | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')"
        ids+=("$id")
    done
    for id in "${ids[@]}"; do
        while :; do
            state="$(curl -fsS -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/jobs/$id" \
                | python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["state"], (j.get("result") or {}).get("engine", "-"))')"
            case "$state" in
                succeeded*) engines_used="$engines_used ${state#* }"; break ;;
                failed*|cancelled*) die "build job $id ended $state; see $work/daemon-$label.log" ;;
            esac
            sleep 0.5
        done
    done
    end=$(now)
    stop_daemon
    round_seconds="$(python3 -c "print(f'{$end - $start:.1f}')")"
    # shellcheck disable=SC2086 # one engine name per word
    round_used="$(printf '%s\n' $engines_used | sort | uniq -c | awk '{ printf "%s%s x%s", (n++ ? ", " : ""), $2, $1 }')"
}

say "round 1: $builds no-cache builds on 1 engine ($slots slots)"
round one "  - { name: engine-1, endpoint: $first, slots: $slots }"
one_seconds=$round_seconds one_used=$round_used
say "round 2: $builds no-cache builds on 2 engines ($slots slots each)"
round two "  - { name: engine-1, endpoint: $first, slots: $slots }
  - { name: engine-2, endpoint: $second, slots: $slots }"
two_seconds=$round_seconds two_used=$round_used

python3 - "$builds" "$one_seconds" "$two_seconds" "$one_used" "$two_used" <<'PY'
import sys
builds, one, two = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
print(f"{'engines':<9}{'builds':>7}{'seconds':>9}{'jobs/min':>10}  placed on")
print(f"{1:<9}{builds:>7}{one:>9.1f}{builds / one * 60:>10.2f}  {sys.argv[4]}")
print(f"{2:<9}{builds:>7}{two:>9.1f}{builds / two * 60:>10.2f}  {sys.argv[5]}")
print(f"ratio (2 engines / 1 engine, jobs per minute): {one / two:.2f}x")
PY
