#!/usr/bin/env bash
# Promotion benchmark (issue 6): Orchestrator's copy engine against 'skopeo copy --all --preserve-digests',
# between the same two local registries (staging 127.0.0.1:5001 -> production 127.0.0.1:5002),
# alternating runs, printing median times, ratios and Orchestrator's peak working set.
#
#   ./bench/promote.sh [--rounds N] [--large-mib M] [--large-layers L] [--shared S] [--base-mib B]
#
# Defaults: 5 rounds, a 256 MiB image of 5 layers, 20 services on a 40 MiB base (about 30 s here).
# Every repository it creates lives under a unique prefix (bench-<8 hex>/…) and is deleted on exit or
# failure: manifests by digest, then blob links. Blob bytes stay until the registries' garbage collector runs.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
say() { printf 'bench: %s\n' "$*" >&2; }

command -v skopeo >/dev/null || { say "error: skopeo is not installed (apt-get install skopeo)"; exit 1; }
for registry in 127.0.0.1:5001 127.0.0.1:5002; do
    curl -fsS --max-time 5 "http://$registry/v2/" >/dev/null || { say "no registry answers at $registry: run ./scripts/setup"; exit 1; }
done

say "building bench/Orchestrator.Bench (Release)"
dotnet build "$repo/bench/Orchestrator.Bench" -c Release -v quiet --nologo >&2
exec dotnet "$repo/bench/Orchestrator.Bench/bin/Release/net10.0/Orchestrator.Bench.dll" "$@"
