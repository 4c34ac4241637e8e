# Shared by the bench scripts (sourced, not run): the workspace config they write and the clean-up of the
# repositories they create. Expects $staging and $production (host:port) to be set by the caller.

# Writes the first lines of a throwaway workspace's orchestrator.yaml to standard output: the local engine,
# staging and production on loopback, the state file under the workspace. Callers append their own sections.
bench_config() {
    cat <<YAML
engine:
  endpoint: unix:///var/run/docker.sock
stages: [staging, production]
registries:
  staging:    { url: http://$staging }
  production: { url: http://$production }
state:
  path: state/state.db
YAML
}

# Deletes every manifest of REPOSITORY in REGISTRY by digest: each tag's manifest, and the referrers a
# sha256-<hex> fallback tag lists. Blob bytes stay until the registry's garbage collector runs.
delete_repository() { # registry, repository
    local registry=$1 repository=$2 tags tag digest
    tags="$(curl -fsS --max-time 10 "http://$registry/v2/$repository/tags/list" 2>/dev/null)" || return 0
    local digests=()
    for tag in $(printf '%s' "$tags" | sed -n 's/.*"tags":\[\([^]]*\)\].*/\1/p' | tr -d '"' | tr ',' ' '); do
        digest="$(curl -fsSI --max-time 10 \
            -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
            -H 'Accept: application/vnd.oci.image.index.v1+json' \
            -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
            -H 'Accept: application/vnd.docker.distribution.manifest.list.v2+json' \
            "http://$registry/v2/$repository/manifests/$tag" 2>/dev/null \
            | tr -d '\r' | sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: *//p')" || true
        [ -n "$digest" ] && digests+=("$digest")
        if [[ "$tag" == sha256-* ]]; then
            while read -r digest; do [ -n "$digest" ] && digests+=("$digest"); done < <(
                curl -fsS --max-time 10 -H 'Accept: application/vnd.oci.image.index.v1+json' \
                    "http://$registry/v2/$repository/manifests/$tag" 2>/dev/null \
                    | grep -o '"digest": *"sha256:[0-9a-f]\{64\}"' | grep -o 'sha256:[0-9a-f]*' || true)
        fi
    done
    [ "${#digests[@]}" -gt 0 ] || return 0
    printf '%s\n' "${digests[@]}" | sort -u | while read -r digest; do
        curl -fsS --max-time 10 -X DELETE "http://$registry/v2/$repository/manifests/$digest" >/dev/null 2>&1 || true
    done
}
