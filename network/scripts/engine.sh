#!/usr/bin/env bash
# Chooses the engine of the network in $PHR_STATE, once, and remembers it in engine.env:
#   PHR_ENGINE=fabric     Fabric's binaries (fabric-bin.sh: FABRIC_BIN, cache, PATH, go install,
#                         release archive) — fails when none can be had;
#   PHR_ENGINE=embedded   the embedded network (network/embedded): one machine, development and tests;
#   unset                 Fabric when its binaries can be had, the embedded network otherwise.
# Later commands read engine.env, so up, down, status, e2e and bench keep the same engine.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
mkdir -p "$PHR_STATE"
env_file="$PHR_STATE/engine.env"
if [[ -f "$env_file" ]]; then
  load_engine
  exit 0
fi
case "${PHR_ENGINE:-}" in
  '' | fabric | embedded) ;;
  *) die "PHR_ENGINE must be fabric or embedded, not '$PHR_ENGINE'" ;;
esac

remember() {
  printf 'PHR_ENGINE=%q\n' "$1" >"$env_file.tmp"
  mv "$env_file.tmp" "$env_file"
}

if [[ "${PHR_ENGINE:-}" != embedded ]]; then
  if reason="$("$PHR_ROOT/network/scripts/fabric-bin.sh" 2>&1 >/dev/null)"; then
    remember fabric
    load_engine
    exit 0
  fi
  reason="$(printf '%s' "$reason" | tail -n 1 | sed 's/^error: //')"
  [[ "${PHR_ENGINE:-}" == fabric ]] && die "PHR_ENGINE=fabric, but Fabric's binaries cannot be had: $reason"
  printf 'Fabric binaries not found (%s): starting the embedded network — one machine, for development and tests\n' "$reason"
fi
remember embedded
