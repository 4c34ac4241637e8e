#!/usr/bin/env bash
# Replica benchmark (issue 14, item 5): N promotions of a small image run by 1 daemon, then N more by 3 daemon
# replicas on one PostgreSQL job queue; prints jobs per minute of each and the ratio, in one run.
#
#   ./bench/replicas.sh [--promotions N] [--replicas N]
#
# Defaults: 100 promotions per row, 3 replicas in the second row; daemons on 127.0.0.1:5184 (alone) and
# 5185.. (replicas), each with 'concurrency: 2' and 'lease-seconds: 10'.
#
# Preparation (not timed): a slim base by debootstrap and a tiny pipeline (pinned 'hello', one script) locked and
# built once; its image put into 2N staging repositories by cross-repository blob mounts and a manifest PUT of the
# same bytes (same digest), one per generated pipeline (promo-1-NNN for the first row, promo-R-NNN for the second,
# so neither row finds the other's blobs in production); each validated for real into the bench's own database
# replicas_bench_<hex> on the PostgreSQL of scripts/setup-postgres (127.0.0.1:5433, password in
# .orchestrator/postgres/password or $ORCHESTRATOR_PG_PASSWORD).
#
# Rows: N promote jobs submitted through POST /api/jobs (spread over the replicas' APIs), timed from the first
# submission until every job is terminal; each promotion then checked with skopeo in production.
#
# Everything lives under a unique repository prefix bench-<8 hex>/…, a temp folder and the bench's database, all
# removed on exit, failure or Ctrl-C (daemons stopped, manifests deleted in both registries, local images under the
# prefix removed, database dropped).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"
staging=127.0.0.1:5001
production=127.0.0.1:5002
say() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }
promotions=100 replicas=3
while [ $# -gt 0 ]; do
    case "$1" in
        --promotions) promotions="$2"; shift 2 ;;
        --replicas) replicas="$2"; shift 2 ;;
        *) die "unknown argument '$1'; see the header of $0" ;;
    esac
done
[[ "$promotions" =~ ^[1-9][0-9]*$ ]] || die "--promotions takes a positive number, not '$promotions'"
[[ "$replicas" =~ ^[2-5]$ ]] || die "--replicas takes 2 to 5 (ports 5185-5189), not '$replicas'"

command -v skopeo >/dev/null || die "skopeo is missing; run ./scripts/setup as root"
command -v psql >/dev/null || die "psql is missing; run scripts/setup-postgres as root"
for registry in "$staging" "$production"; do
    curl -fsS --max-time 5 "http://$registry/v2/" >/dev/null || die "no registry answers at $registry; run ./scripts/setup"
done
docker info >/dev/null 2>&1 || die "no Docker Engine answers; run ./scripts/setup"
if [ -z "${ORCHESTRATOR_PG_PASSWORD:-}" ]; then
    password_file="${ORCHESTRATOR_STATE_DIR:-$repo/.orchestrator}/postgres/password"
    [ -r "$password_file" ] || die "no PostgreSQL password: set ORCHESTRATOR_PG_PASSWORD or run scripts/setup-postgres (it writes $password_file)"
    ORCHESTRATOR_PG_PASSWORD="$(cat "$password_file")"
fi
export ORCHESTRATOR_PG_PASSWORD
psql_admin() { PGPASSWORD="$ORCHESTRATOR_PG_PASSWORD" psql -h 127.0.0.1 -p 5433 -U orchestrator -d orchestrator -qAt -v ON_ERROR_STOP=1 -c "$1"; }
psql_admin "SELECT 1;" >/dev/null || die "PostgreSQL at 127.0.0.1:5433 does not answer; run scripts/setup-postgres"

hex="$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
prefix="bench-$hex"
database="replicas_bench_$hex"
work="$(mktemp -d "${TMPDIR:-/tmp}/orchestrator-replicas-XXXXXX")"
base_repository="$prefix/base/debian-bookworm"
daemon_pids=()
names_alone=() names_replicas=()
for i in $(seq -w 1 "$promotions"); do names_alone+=("promo-1-$i"); names_replicas+=("promo-$replicas-$i"); done

stop_daemons() {
    local pid
    for pid in "${daemon_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${daemon_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    daemon_pids=()
}

cleanup() {
    local status=$? ids
    trap - EXIT INT TERM
    stop_daemons
    say "cleaning up $prefix (registries, local images, database $database, $work)"
    for registry in "$staging" "$production"; do
        for repository in "$prefix/apps/promo-src" "${names_alone[@]/#/$prefix/apps/}" "${names_replicas[@]/#/$prefix/apps/}" "$base_repository"; do
            delete_repository "$registry" "$repository"
        done
    done
    ids="$(docker images --no-trunc --format '{{.Repository}} {{.ID}}' | awk -v p="/$prefix/" 'index($1, p) { print $2 }' | sort -u)"
    # shellcheck disable=SC2086 # one id per word
    [ -z "$ids" ] || docker rmi -f $ids >/dev/null 2>&1 || true
    psql_admin "DROP DATABASE IF EXISTS $database WITH (FORCE);" >/dev/null 2>&1 || true
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

psql_admin "CREATE DATABASE $database TEMPLATE template0;" >/dev/null
mkdir -p "$work/base-images" "$work/pipelines/promo-src"
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
YAML
}
printf '%s\n' '#!/bin/sh' 'echo hello from orchestrator' >"$work/pipelines/promo-src/greet.sh"
promo_pipeline promo-src >"$work/pipelines/promo-src.yaml"
token="bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export BENCH_TOKEN="$token"
{
    bench_config | sed "s#^  path: state/state.db#  postgres: { host: 127.0.0.1, port: 5433, database: $database, username: orchestrator, password-env: ORCHESTRATOR_PG_PASSWORD }#"
    cat <<YAML
paths:
  work: work
daemon:
  concurrency: 2
  lease-seconds: 10
  watch-interval-seconds: 3600
  tokens:
    - { name: bench, secret-env: BENCH_TOKEN, roles: [read, build, validate, "promote:production"] }
YAML
} >"$work/orchestrator.yaml"
grep -q "database: $database" "$work/orchestrator.yaml" || die "the bench config does not name the database (bench_config changed?)"
orchestrator() { "$repo/orchestrator" --config "$work/orchestrator.yaml" "$@"; }
now() { date +%s.%N; }

# 1. Preparation (not timed) ---------------------------------------------------------------------
prep_started=$(now)
say "workspace $work, prefix $prefix, database $database; building the slim base (not timed)"
orchestrator base build bench-bookworm/slim >"$work/prep.log" 2>&1 || { tail -20 "$work/prep.log" >&2; die "the base build failed"; }
orchestrator lock promo-src >>"$work/prep.log" 2>&1 || { tail -20 "$work/prep.log" >&2; die "locking promo-src failed"; }
source_reference="$(orchestrator build promo-src 2>>"$work/prep.log" | tail -n 1)"
[[ "$source_reference" == *@sha256:* ]] || { tail -20 "$work/prep.log" >&2; die "the build printed '$source_reference', not a digest-pinned reference"; }
digest="${source_reference#*@}"
manifest_type="$(curl -fsSI -H 'Accept: application/vnd.oci.image.manifest.v1+json' -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    "http://$staging/v2/$prefix/apps/promo-src/manifests/$digest" | tr -d '\r' | sed -n 's/^[Cc]ontent-[Tt]ype: *//p')"
curl -fsS -H "Accept: $manifest_type" "http://$staging/v2/$prefix/apps/promo-src/manifests/$digest" -o "$work/manifest.json"
[[ "$manifest_type" == *manifest* && "$manifest_type" != *list* ]] || die "promo-src's manifest is a $manifest_type, not an image manifest"
blobs="$(grep -o '"digest": *"sha256:[0-9a-f]\{64\}"' "$work/manifest.json" | grep -o 'sha256:[0-9a-f]*' | sort -u)"
say "putting $digest into $((2 * promotions)) repositories and validating each (not timed)"
for name in "${names_alone[@]}" "${names_replicas[@]}"; do
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
printf '%s\n' "${names_alone[@]}" "${names_replicas[@]}" | xargs -P 2 -I{} "$repo/orchestrator" --config "$work/orchestrator.yaml" validate {} --digest "$digest" \
    >>"$work/prep.log" 2>&1 || { tail -20 "$work/prep.log" >&2; die "a validation failed"; }
say "preparation took $(awk -v a="$prep_started" -v b="$(now)" 'BEGIN { printf "%.0f", b - a }') s"

# 2. One row: start COUNT daemons from PORT, submit one promote job per name spread over them, wait until terminal;
# writes "seconds jobs-per-minute" to $work/row (not through $(…): a subshell would lose the daemons' pids to the trap).
run_row() { # count, first port, names...
    local count=$1 first=$2 i port started drained pending name served verified=0
    shift 2
    local names=("$@")
    for i in $(seq 0 $((count - 1))); do
        port=$((first + i))
        "$repo/orchestrator" --config "$work/orchestrator.yaml" daemon --urls "http://127.0.0.1:$port" >"$work/daemon-$port.log" 2>&1 &
        daemon_pids+=($!)
    done
    for i in $(seq 0 $((count - 1))); do
        port=$((first + i))
        for _ in $(seq 1 600); do
            curl -fsS --max-time 1 "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
            kill -0 "${daemon_pids[$i]}" 2>/dev/null || { tail -20 "$work/daemon-$port.log" >&2; die "the daemon on $port exited"; }
            sleep 0.2
        done
    done
    say "$count daemon(s) up; submitting ${#names[@]} promote jobs"
    started=$(now)
    i=0
    for name in "${names[@]}"; do
        port=$((first + i % count))
        curl -fsS -o /dev/null -H "Authorization: Bearer $token" -H "Content-Type: application/json" \
            -d "{\"kind\":\"promote\",\"pipeline\":\"$name\",\"digest\":\"$digest\",\"stage\":\"production\"}" \
            "http://127.0.0.1:$port/api/jobs" || die "submitting the promotion of $name to 127.0.0.1:$port failed"
        i=$((i + 1))
    done
    local deadline=$(( $(date +%s) + 1200 ))
    while :; do
        pending="$(curl -fsS -H "Authorization: Bearer $token" "http://127.0.0.1:$first/api/jobs?kind=promote&limit=1000" \
            | grep -o '"state":"[a-z]*"' | grep -cE '"(queued|running)"' || true)"
        [ "$pending" -eq 0 ] && break
        [ "$(date +%s)" -lt "$deadline" ] || die "promotions still not terminal after 1200 s"
        sleep 0.2
    done
    drained=$(now)
    stop_daemons
    for name in "${names[@]}"; do
        served="$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$production/$prefix/apps/$name:1.0.0" 2>/dev/null || true)"
        if [ "$served" = "$digest" ]; then verified=$((verified + 1)); else say "$prefix/apps/$name:1.0.0 in production is '${served:-absent}', not $digest"; fi
    done
    [ "$verified" -eq "${#names[@]}" ] || die "$(( ${#names[@]} - verified )) of ${#names[@]} promotions are not in production"
    awk -v n="${#names[@]}" -v a="$started" -v b="$drained" 'BEGIN { printf "%.2f %.1f\n", b - a, n * 60 / (b - a) }' >"$work/row"
}

run_row 1 5184 "${names_alone[@]}"
read -r alone_seconds alone_rate <"$work/row"
run_row "$replicas" 5185 "${names_replicas[@]}"
read -r many_seconds many_rate <"$work/row"

printf '| %-22s | %10s | %10s | %12s |\n' "daemons on one queue" "promotions" "seconds" "jobs/minute"
printf '|%s|%s|%s|%s|\n' "------------------------" "------------" "------------" "--------------"
printf '| %-22s | %10s | %10s | %12s |\n' "1" "$promotions" "$alone_seconds" "$alone_rate"
printf '| %-22s | %10s | %10s | %12s |\n' "$replicas replicas" "$promotions" "$many_seconds" "$many_rate"
awk -v a="$alone_rate" -v b="$many_rate" -v r="$replicas" 'BEGIN { printf "%s replicas / 1 daemon: %.2fx the jobs per minute\n", r, b / a }'
