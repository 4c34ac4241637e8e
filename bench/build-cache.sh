#!/usr/bin/env bash
# Build benchmark (issue 4): how long a pipeline build takes cold, as a cache hit, and as a plain
# 'docker build' + 'docker push' of the same Dockerfile, in one run on this machine. Issue 16 adds the
# package cache's two rows: a cold build (engine cache pruned) with the package cache warm, and a first
# build with the package cache empty, each as a ratio to the plain build of the same round.
#
# BENCH_SKIP_SETUP=1 skips scripts/setup (for a machine whose engine and registries already run).
#
#   ./bench/build-cache.sh [ROUNDS]        # default 3 rounds
#
# Everything it creates lives under a unique repository prefix (bench-<8 hex>/…) in a throwaway
# workspace, and is removed on exit, failure or Ctrl-C: the manifests in both registries, the local
# images under the prefix, and the temp folder. Needs what scripts/setup needs (root).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"
rounds="${1:-3}"
staging=127.0.0.1:5001
production=127.0.0.1:5002

say() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }

[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer, got '$rounds' (usage: $0 [ROUNDS])"

# 1. The engine and registries --------------------------------------------------------------------
[ -n "${BENCH_SKIP_SETUP:-}" ] || "$repo/scripts/setup"

# 2. A throwaway workspace under a unique prefix ---------------------------------------------------
prefix="bench-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
work="$(mktemp -d "${TMPDIR:-/tmp}/orchestrator-bench-XXXXXX")"
pipeline=bench-hello
app_repository="$prefix/apps/$pipeline"
plain_repository="$prefix/plain/$pipeline"
base_repository="$prefix/base/debian-bookworm"

# Every manifest a repository's tags reach, plus the referrers (SBOMs) its sha256-HEX fallback tags
# list, deleted by digest: the same sweep as the integration tests' Janitor.

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
    say "cleaning up $prefix (registries, local images, $work)"
    for registry in "$staging" "$production"; do
        for repository in "$app_repository" "$plain_repository" "$base_repository"; do
            delete_repository "$registry" "$repository"
        done
    done
    # Images built on the base first: the engine refuses to remove a parent that still has children.
    remove_local_images apps/
    remove_local_images plain/
    remove_local_images
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$work/base-images" "$work/pipelines" "$work/plain/files"
{
    bench_config
    cat <<YAML
paths:
  work: work
YAML
} >"$work/orchestrator.yaml"
# base-images/debian-bookworm.yaml's slim variant, under the prefix.
bench_slim_base "$base_repository" >"$work/base-images/debian-bookworm.yaml"
# The bench's own small pipeline (the first sample's original shape): one pinned apt package and one
# script, so the plain Dockerfile below can say exactly what Orchestrator builds.
mkdir -p "$work/pipelines/$pipeline"
printf '%s\n' '#!/usr/bin/env python3' 'import sys' 'print("Hello, " + (sys.argv[1] if len(sys.argv) > 1 else "world") + "!")' >"$work/pipelines/$pipeline/hello.py"
cat >"$work/pipelines/$pipeline.yaml" <<YAML
name: $pipeline
version: 1.0.0
base: debian-bookworm/slim
repository: $app_repository
packages:
  apt:
    python3-minimal: "3.11.2-1+b1"
files:
  - { src: $pipeline/hello.py, dest: /app/hello.py, mode: "0755" }
env: { PYTHONUNBUFFERED: "1", PYTHONDONTWRITEBYTECODE: "1" }
user: "10001"
workdir: /app
entrypoint: ["python3", "/app/hello.py"]
tags: ["{version}"]
YAML

orchestrator() { "$repo/orchestrator" "$@" --config "$work/orchestrator.yaml"; }
now() { date +%s.%N; }

# 3. The base, once (not timed) ------------------------------------------------------------------
say "workspace $work, prefix $prefix; building the slim base (not timed)"
base_reference="$(orchestrator base build debian-bookworm/slim | tail -n 1)"
[[ "$base_reference" == *@sha256:* ]] || die "base build printed '$base_reference', not a digest-pinned reference"
base_name="${base_reference%@*}"; base_name="${base_name%:slim}"
base_digest="${base_reference#*@}"
say "base $base_name@$base_digest"
say "locking $pipeline (not timed)"
orchestrator lock "$pipeline" >/dev/null
# The locked closure as apt arguments ('name=version' for every package), which Orchestrator's build installs.
locked_packages="$(awk '/^packages:/ { on = 1; next } on && /^  - / {
        match($0, /name: "[^"]*"/); n = substr($0, RSTART + 7, RLENGTH - 8)
        match($0, /version: "[^"]*"/); v = substr($0, RSTART + 10, RLENGTH - 11)
        printf "%s\x27%s=%s\x27", (count++ ? " " : ""), n, v }' "$work/pipelines/$pipeline.lock.yaml")"
[ -n "$locked_packages" ] || die "the lock of $pipeline names no packages"
source_date="$(awk '/^source-date-epoch:/ { print $2 }' "$work/pipelines/$pipeline.lock.yaml")"

# The Dockerfile Orchestrator generates for this pipeline (BuildContext.CreateDockerfile), by hand:
# FROM the base by digest, one RUN with the exact pin, COPY of files/0, ENV, WORKDIR, USER, ENTRYPOINT.
# The context file carries the pipeline's mode 0755, as Orchestrator's tar entry does (the classic
# builder has no COPY --chmod). After the first round the script compares both images' histories.
cp "$work/pipelines/$pipeline/hello.py" "$work/plain/files/0"
chmod 0755 "$work/plain/files/0"
cat >"$work/plain/Dockerfile" <<DOCKERFILE
FROM $base_name@$base_digest
RUN set -eux; export DEBIAN_FRONTEND=noninteractive SOURCE_DATE_EPOCH=$source_date; apt-get update; apt-get install -y --no-install-recommends $locked_packages; apt-get clean; rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log
COPY ["files/0","/app/hello.py"]
ENV PYTHONUNBUFFERED="1"
ENV PYTHONDONTWRITEBYTECODE="1"
WORKDIR /app
USER 10001
ENTRYPOINT ["python3","/app/hello.py"]
DOCKERFILE

# A build's instructions as the engine recorded them; COPY's content hash is dropped (it covers
# file metadata the two contexts need not share).
instructions() { # image
    docker history --no-trunc --format '{{.CreatedBy}}' "$1" | sed -E 's/(COPY|ADD) (file|dir):[0-9a-f]+ /\1 /'
}

labels_of() { # image → sorted KEY=VALUE lines
    docker inspect --format '{{range $k, $v := .Config.Labels}}{{$k}}={{$v}}{{"\n"}}{{end}}' "$1" | sed '/^$/d' | LC_ALL=C sort
}

# 4. The rounds ----------------------------------------------------------------------------------
results="$work/results.tsv"
: >"$results"
for round in $(seq 1 "$rounds"); do
    # Cold: nothing of the pipeline's left in the engine, and Orchestrator's build cache bypassed.
    remove_local_images apps/
    remove_local_images plain/
    docker rmi -f "orchestrator-build/$pipeline:latest" >/dev/null 2>&1 || true
    docker builder prune -f >/dev/null
    # First build: the package cache emptied too, so every locked .deb is located and downloaded again.
    orchestrator cache prune --all >/dev/null
    say "round $round/$rounds: first build (package cache empty)"
    start="$(now)"
    empty_reference="$(orchestrator build "$pipeline" --no-cache | tail -n 1)"
    end="$(now)"
    printf 'empty\t%s\n' "$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }')" >>"$results"

    # Cold: the engine's images of the pipeline removed again; the package cache is warm from the build above.
    remove_local_images apps/
    docker rmi -f "orchestrator-build/$pipeline:latest" >/dev/null 2>&1 || true
    docker builder prune -f >/dev/null
    say "round $round/$rounds: cold build (package cache warm)"
    start="$(now)"
    app_reference="$(orchestrator build "$pipeline" --no-cache | tail -n 1)"
    end="$(now)"
    printf 'cold\t%s\n' "$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }')" >>"$results"
    [ "$empty_reference" = "$app_reference" ] \
        || die "the build from an empty package cache printed $empty_reference, the one from a warm cache $app_reference: the same lock must give the same image"

    say "round $round/$rounds: cache-hit build"
    start="$(now)"
    hit_reference="$(orchestrator build "$pipeline" | tail -n 1)"
    end="$(now)"
    printf 'hit\t%s\n' "$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }')" >>"$results"
    [ "$hit_reference" = "$app_reference" ] \
        || die "the cache-hit build printed $hit_reference, not the cold build's $app_reference: it was not a cache hit"

    # The plain path gets the labels Orchestrator passes to the engine (those of its image that the
    # base does not already carry) and, like Orchestrator, ends with a push.
    # Orchestrator pushes through the registry API, so the engine has its image only once pulled.
    docker pull -q "$app_reference" >/dev/null
    labels=()
    while IFS= read -r label; do [ -n "$label" ] && labels+=(--label "$label"); done < <(
        LC_ALL=C comm -23 <(labels_of "$app_reference") <(labels_of "$base_name@$base_digest"))
    plain_image="$staging/$plain_repository:round-$round"
    say "round $round/$rounds: plain docker build + push"
    start="$(now)"
    # The classic builder, as the Engine API build Orchestrator calls; its deprecation notice goes to the log.
    DOCKER_BUILDKIT=0 docker build --network host --no-cache -q -t "$plain_image" "${labels[@]}" "$work/plain" \
        >"$work/plain.log" 2>&1 || { cat "$work/plain.log" >&2; die "the plain docker build failed"; }
    docker push -q "$plain_image" >>"$work/plain.log" 2>&1 || { cat "$work/plain.log" >&2; die "the plain docker push failed"; }
    end="$(now)"
    printf 'plain\t%s\n' "$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }')" >>"$results"

    # Orchestrator's image now installs from the package cache (no apt-get update) and the plain one from the
    # mirror, so their RUN instructions differ by design; the rest must match.
    if [ "$round" = 1 ] && ! diff <(instructions "$app_reference" | grep -v '^RUN\|apt-get') <(instructions "$plain_image" | grep -v '^RUN\|apt-get') >"$work/history.diff"; then
        say "warning: the plain Dockerfile's instructions differ from Orchestrator's (< Orchestrator, > plain):"
        cat "$work/history.diff" >&2
    fi
done

# 5. The table -----------------------------------------------------------------------------------
echo
awk -F '\t' -v rounds="$rounds" '
    { times[$1] = times[$1] " " $2 }
    function stats(kind,    n, v, i, j, t) {
        n = split(substr(times[kind], 2), v, " ")
        for (i = 2; i <= n; i++) { t = v[i]; for (j = i - 1; j >= 1 && v[j] + 0 > t + 0; j--) v[j + 1] = v[j]; v[j + 1] = t }
        median[kind] = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
        low[kind] = v[1]; high[kind] = v[n]
    }
    END {
        stats("cold"); stats("hit"); stats("plain"); stats("empty")
        printf "%-34s %10s %10s %10s %10s %8s\n", "build (" rounds " rounds)", "median s", "min s", "max s", "vs plain", "target"
        printf "%-34s %10.2f %10.2f %10.2f %9.2fx %8s\n", "cold build, package cache warm", median["cold"], low["cold"], high["cold"], median["cold"] / median["plain"], "<= 0.5x"
        printf "%-34s %10.2f %10.2f %10.2f %9.2fx %8s\n", "first build, package cache empty", median["empty"], low["empty"], high["empty"], median["empty"] / median["plain"], "<= 1.0x"
        printf "%-34s %10.2f %10.2f %10.2f %9.3fx %8s\n", "cache-hit build", median["hit"], low["hit"], high["hit"], median["hit"] / median["plain"], "-"
        printf "%-34s %10.2f %10.2f %10.2f %9.2fx %8s\n", "plain docker build+push", median["plain"], low["plain"], high["plain"], 1, "-"
        printf "\ncache hit is %.0f× faster than a plain docker build\n", median["plain"] / median["hit"]
    }' "$results"
