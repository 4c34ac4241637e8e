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

# Writes a slim-only Debian bookworm base definition whose repository is REPOSITORY (under the bench's prefix) to
# standard output: what base-images/debian-bookworm.yaml's slim variant is, so a bench never touches the samples'.
bench_slim_base() { # repository
    cat <<YAML
repository: $1
default-variant: slim
suite: bookworm
components: [main]
variants:
  slim:
    debootstrap-variant: minbase
    slim: true
YAML
}

# Writes pipelines/NAME.yaml and NAME.lock.yaml under WORK as copies of the toolbox sample and its lock, pushed
# to REPOSITORY: a real, locked pipeline without a lock run.
bench_toolbox_copy() { # work name repository
    sed -e "s/^name: toolbox/name: $2/" -e "s#^repository: tools/toolbox#repository: $3#" \
        "$1/pipelines/toolbox.yaml" >"$1/pipelines/$2.yaml"
    sed -e "s/^pipeline: \"toolbox\"/pipeline: \"$2\"/" "$1/pipelines/toolbox.lock.yaml" >"$1/pipelines/$2.lock.yaml"
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
