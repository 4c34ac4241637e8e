#!/usr/bin/env bash
# Whole-process benchmark (issue 12): the Orchestrator CLI beside skopeo, each call a whole process as a CI
# script makes it, in one run. Rows (medians of ROUNDS runs, order alternating per round):
#   version        orchestrator --version           vs  skopeo --version
#   status         orchestrator status              vs  skopeo inspect docker://127.0.0.1:5001/…   (a whole-process read)
#   warm promote   orchestrator promote (production already has the digest)   vs  skopeo copy of the same
#   cold promote   orchestrator promote of a 256 MiB, 5-layer random image into a fresh production repository
#                                                   vs  skopeo copy --all --preserve-digests into a fresh one
#   and the peak resident set (GNU time's %M) of every process in the cold row.
#
#   ./bench/whole-process.sh [--rounds N] [--large-mib M] [--large-layers L]     # defaults 5, 256, 5 (about 1 min)
#   ORCHESTRATOR_BIN=/tmp/wholeproc-aot/orchestrator ./bench/whole-process.sh     # the binary to measure
#
# By default it measures the native binary ./orchestrator publishes (.orchestrator/cli/orchestrator): what a CI
# job installs and calls. The launcher in front of it only re-publishes a checkout whose sources changed; its
# freshness check (a find over src/, about 8 ms) is a convenience of working in this repository, not of the tool.
#
# The workspace is throwaway (temp folder: its own orchestrator.yaml, state file, the sample pipelines and one
# pipeline per promotion, all repositories under bench-wp-<8 hex>/). The image and the passing validation a
# promotion needs are seeded by bench/Orchestrator.Bench (`seed`: see WholeProcessSeed.cs). On exit, failure or
# Ctrl-C every manifest it made in both registries is deleted by digest, then every blob link, then the folder.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"
say() { printf 'bench: %s\n' "$*" >&2; }
rounds=5 mib=256 layers=5
while [ $# -gt 0 ]; do
    case "$1" in
        --rounds) rounds="$2"; shift 2 ;;
        --large-mib) mib="$2"; shift 2 ;;
        --large-layers) layers="$2"; shift 2 ;;
        *) say "unknown argument '$1'; see the header of $0"; exit 2 ;;
    esac
done
if [ -n "${ORCHESTRATOR_BIN:-}" ]; then
    bin="$ORCHESTRATOR_BIN"
else
    "$repo/orchestrator" --version >/dev/null   # publishes the binary when the sources changed
    bin="$repo/.orchestrator/cli/orchestrator"
fi
staging=127.0.0.1:5001 production=127.0.0.1:5002

command -v skopeo >/dev/null || { say "error: skopeo is not installed (apt-get install skopeo)"; exit 1; }
[ -x /usr/bin/time ] || { say "error: GNU time is not installed (apt-get install time)"; exit 1; }
[ -x "$bin" ] || { say "error: $bin is not executable: set ORCHESTRATOR_BIN to the CLI binary"; exit 1; }
for registry in $staging $production; do
    curl -fsS --max-time 5 "http://$registry/v2/" >/dev/null || { say "no registry answers at $registry: run ./scripts/setup"; exit 1; }
done

work="$(mktemp -d /tmp/orchestrator-whole-process-XXXXXX)"
prefix="bench-wp-$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')"
digest="" blobs=""
created=()   # "registry repository" of every repository that may hold the image
cleanup() {
    local status=$?
    if [ -n "$digest" ]; then
        say "cleaning up ${#created[@]} repositories under $prefix/"
        for entry in "${created[@]}"; do
            set -- $entry
            # The manifest by digest (which drops its tags), then the blob links; a 404 is fine.
            curl -s -o /dev/null -X DELETE "http://$1/v2/$2/manifests/$digest" || true
            for blob in $blobs; do
                curl -s -o /dev/null -X DELETE "http://$1/v2/$2/blobs/$blob" || true
            done
        done
    fi
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A CI job's own environment: no daemon (every verb in-process), this workspace.
unset ORCHESTRATOR_URL ORCHESTRATOR_TOKEN
export ORCHESTRATOR_CONFIG="$work/orchestrator.yaml"

# 1. The workspace: the samples (so 'status' reads a few real pipelines), one pipeline for the warm row and one
# per cold round (each promotes into its own fresh production repository), each made from toolbox with its lock.
cp -r "$repo/base-images" "$repo/pipelines" "$work/"
[ -d "$repo/python-packages" ] && cp -r "$repo/python-packages" "$work/"
bench_config >"$work/orchestrator.yaml"
mkdir -p "$work/state"
pipeline() { # name repository
    bench_toolbox_copy "$work" "$1" "$2"
    seeds+=("$1=$2")
    created+=("$staging $2" "$production $2")
}
seeds=()
pipeline bench-warm "$prefix/warm"
pipeline bench-warmup "$prefix/warmup"
for i in $(seq 1 "$rounds"); do pipeline "bench-cold-$i" "$prefix/cold-$i"; done
created+=("$production $prefix/skopeo-warm" "$production $prefix/skopeo-warmup")
for i in $(seq 1 "$rounds"); do created+=("$production $prefix/skopeo-cold-$i"); done

say "building bench/Orchestrator.Bench (Release)"
dotnet build "$repo/bench/Orchestrator.Bench" -c Release -v quiet --nologo >&2
dotnet "$repo/bench/Orchestrator.Bench/bin/Release/net10.0/Orchestrator.Bench.dll" seed \
    --state "$work/state/state.db" --mib "$mib" --layers "$layers" "${seeds[@]}" >"$work/seed.txt"
digest="$(sed -n 1p "$work/seed.txt")"
blobs="$(sed -n 2p "$work/seed.txt")"
say "seeded $digest ($layers layers, $mib MiB) in $((rounds + 2)) staging repositories, validation recorded"

# 2. Timing: wall clock around the whole process (bash's EPOCHREALTIME), output kept for the error message.
mkdir -p "$work/times"
timed() { # row tool command...
    local row="$1" tool="$2" start end
    shift 2
    start=$EPOCHREALTIME
    if ! "$@" >"$work/out" 2>"$work/err"; then
        say "$row: $tool failed: $*"
        cat "$work/out" "$work/err" >&2
        exit 1
    fi
    end=$EPOCHREALTIME
    awk -v a="$start" -v b="$end" 'BEGIN { printf "%.4f\n", b - a }' >>"$work/times/$row.$tool"
    say "$(printf '%-13s %-12s %7.3f s' "$row" "$tool" "$(tail -1 "$work/times/$row.$tool")")"
}
# GNU time's %M (peak resident set, KiB) and CPU time (user + system) of the process, for the cold row; the same
# wrapper for both tools. On a busy machine the CPU time says more than the wall clock.
peak() { # tool command...
    local tool="$1" before
    shift
    before=$(registries_cpu)
    /usr/bin/time -f '%M %U %S' -o "$work/rss" "$@" || return 1
    awk -v a="$before" -v b="$(registries_cpu)" 'BEGIN { print b - a }' >>"$work/times/cold-registries.$tool"
    awk '{ print $1 }' "$work/rss" >>"$work/times/cold-rss.$tool"
    awk '{ print $2 + $3 }' "$work/rss" >>"$work/times/cold-cpu.$tool"
}
# The registries' CPU time (user + system, s) is the other half of a copy's cost: what one tool makes the two
# registries do (requests, chunks, hashing, writes). Read from /proc for the processes listening on the ports.
registry_pids="$(for port in 5001 5002; do ss -ltnpH "sport = :$port" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2 | head -1 || true; done | tr '\n' ' ')"
registries_cpu() { # seconds of CPU both registries have used so far
    local total=0 pid
    for pid in $registry_pids; do
        total=$((total + $(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || echo 0)))
    done
    awk -v t="$total" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }'
}
orch() { "$bin" "$@"; }
skopeo_copy() { # from-repository to-repository
    skopeo copy --all --preserve-digests --quiet --src-tls-verify=false --dest-tls-verify=false \
        "docker://$staging/$1@$digest" "docker://$production/$2:bench"
}
unlink_blobs() { # repository in production: drop its blob links, so nothing can be mounted from it later
    for blob in $blobs; do curl -s -o /dev/null -X DELETE "http://$production/v2/$1/blobs/$blob"; done
}
alternate() { # round then two commands (orchestrator's, skopeo's) as strings
    if [ $(($1 % 2)) -eq 1 ]; then eval "$2"; eval "$3"; else eval "$3"; eval "$2"; fi
}

# Untimed warm-up of each tool: the binaries and the registries' storage in the page cache.
orch --version >/dev/null && skopeo --version >/dev/null
orch promote bench-warmup --digest "$digest" >/dev/null 2>&1 || { say "the warm-up promotion failed:"; orch promote bench-warmup --digest "$digest" >&2; exit 1; }
skopeo_copy "$prefix/warmup" "$prefix/skopeo-warmup"
unlink_blobs "$prefix/warmup"
unlink_blobs "$prefix/skopeo-warmup"

for round in $(seq 1 "$rounds"); do
    say "round $round of $rounds"
    alternate "$round" 'timed version orchestrator orch --version' 'timed version skopeo skopeo --version'
    alternate "$round" 'timed status orchestrator orch status' \
        'timed status skopeo skopeo inspect --tls-verify=false "docker://$staging/$prefix/warm@$digest"'
    # Cold: a fresh production repository per run, and afterwards its blob links deleted, so neither
    # Orchestrator's mount hints nor skopeo's blob-info cache can mount from it in a later round.
    alternate "$round" \
        'timed cold orchestrator peak orchestrator "$bin" promote "bench-cold-$round" --digest "$digest"' \
        'timed cold skopeo peak skopeo skopeo copy --all --preserve-digests --quiet --src-tls-verify=false --dest-tls-verify=false "docker://$staging/$prefix/cold-$round@$digest" "docker://$production/$prefix/skopeo-cold-$round:bench"'
    unlink_blobs "$prefix/cold-$round"
    unlink_blobs "$prefix/skopeo-cold-$round"
done

# Warm: production already has the digest (one untimed copy by each tool first, after the cold rows, so no
# cold run could mount from these repositories).
orch promote bench-warm --digest "$digest" >/dev/null 2>&1
skopeo_copy "$prefix/warm" "$prefix/skopeo-warm"
for round in $(seq 1 "$rounds"); do
    alternate "$round" 'timed warm orchestrator orch promote bench-warm --digest "$digest"' \
        'timed warm skopeo skopeo_copy "$prefix/warm" "$prefix/skopeo-warm"'
done

# 3. The table.
median() { sort -n "$1" | awk '{ v[NR] = $1 } END { printf "%.4f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
range() { sort -n "$1" | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.3f-%.3f", lo, hi }'; }
fixed() { awk -v x="$1" 'BEGIN { printf "%.3f", x }'; }
max() { sort -n "$1" | tail -1; }
row() { # label row target-kind target-value
    local o s ratio verdict
    o=$(median "$work/times/$2.orchestrator") s=$(median "$work/times/$2.skopeo")
    ratio=$(awk -v o="$o" -v s="$s" 'BEGIN { printf "%.2fx", o / s }')
    case "$3" in
        seconds) verdict=$(awk -v o="$o" -v t="$4" 'BEGIN { print (o <= t ? "met" : "NOT met") }'); target="<= $4 s" ;;
        ratio) verdict=$(awk -v o="$o" -v s="$s" -v t="$4" 'BEGIN { print (o / s <= t ? "met" : "NOT met") }'); target="<= ${4}x skopeo" ;;
        *) verdict="-" target="-" ;;
    esac
    printf '| %-22s | %9s | %-11s | %9s | %-11s | %7s | %-16s | %-7s |\n' "$1" "$(fixed "$o")" "$(range "$work/times/$2.orchestrator")" \
        "$(fixed "$s")" "$(range "$work/times/$2.skopeo")" "$ratio" "$target" "$verdict"
}
orch_rss=$(max "$work/times/cold-rss.orchestrator") skopeo_rss=$(max "$work/times/cold-rss.skopeo")
load="$(cut -d' ' -f1-3 /proc/loadavg)"
printf '\n%s UTC, %s, %s cores, load average %s; %s rounds; binary %s; skopeo %s\n' \
    "$(date -u '+%Y-%m-%d %H:%M')" "$(uname -m)" "$(nproc)" "$load" "$rounds" "$bin" "$(skopeo --version | awk '{ print $3 }')"
printf '| %-22s | %9s | %-11s | %9s | %-11s | %7s | %-16s | %-7s |\n' row "orch s" "orch range" "skopeo s" "skopeo range" ratio target verdict
printf '|%s|%s|%s|%s|%s|%s|%s|%s|\n' "------------------------" "-----------" "-------------" "-----------" "-------------" "---------" "------------------" "---------"
row "--version" version none
row "status / inspect" status seconds 0.10
row "warm promote / copy" warm ratio 1.5
row "cold promote / copy" cold ratio 0.8
printf '| %-22s | %9s | %-11s | %9s | %-11s | %7s | %-16s | %-7s |\n' "cold peak RSS (MiB)" \
    "$((orch_rss / 1024))" "max of $rounds" "$((skopeo_rss / 1024))" "max of $rounds" \
    "$(awk -v o="$orch_rss" -v s="$skopeo_rss" 'BEGIN { printf "%.2fx", o / s }')" "<= 60 MiB" \
    "$(awk -v o="$orch_rss" 'BEGIN { print (o / 1024 <= 60 ? "met" : "NOT met") }')"
printf '| %-22s | %9s | %-11s | %9s | %-11s | %7s | %-16s | %-7s |\n' "cold CPU s (user+sys)" \
    "$(fixed "$(median "$work/times/cold-cpu.orchestrator")")" "$(range "$work/times/cold-cpu.orchestrator")" \
    "$(fixed "$(median "$work/times/cold-cpu.skopeo")")" "$(range "$work/times/cold-cpu.skopeo")" \
    "$(awk -v o="$(median "$work/times/cold-cpu.orchestrator")" -v s="$(median "$work/times/cold-cpu.skopeo")" 'BEGIN { printf "%.2fx", o / s }')" "-" "-"
if [ -n "$registry_pids" ]; then
    printf '| %-22s | %9s | %-11s | %9s | %-11s | %7s | %-16s | %-7s |\n' "cold registries' CPU s" \
        "$(fixed "$(median "$work/times/cold-registries.orchestrator")")" "$(range "$work/times/cold-registries.orchestrator")" \
        "$(fixed "$(median "$work/times/cold-registries.skopeo")")" "$(range "$work/times/cold-registries.skopeo")" \
        "$(awk -v o="$(median "$work/times/cold-registries.orchestrator")" -v s="$(median "$work/times/cold-registries.skopeo")" 'BEGIN { printf "%.2fx", o / s }')" "-" "-"
fi
printf '\ncold promote: %s layers, %s MiB, random content, staging -> a fresh production repository each run\n' "$layers" "$mib"
