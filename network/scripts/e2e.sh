#!/usr/bin/env bash
# Runs the end-to-end suite on a fresh network with its own ports and state folder.
# Fabric binaries come from FABRIC_BIN, the cache, or `go install` (see fabric-bin.sh). When none of
# these can provide them, the suite is reported as not run, loudly; PHR_REQUIRE_E2E=1 makes that fatal.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
results="$PHR_ROOT/test-results/e2e.json"
rm -f "$results"
probe_state="$(mktemp -d)"
if ! reason="$(PHR_STATE="$probe_state" "$PHR_ROOT/network/scripts/fabric-bin.sh" 2>&1 >/dev/null)"; then
  rm -rf "$probe_state"
  printf '%s\n' "$reason" | tail -n 3 >&2
  printf '{"numPassedTests":0,"numFailedTests":0,"notRun":%s}\n' "$(node -e 'console.log(JSON.stringify(process.argv[1]))' "$reason")" >"$results"
  echo "e2e: NOT RUN: no Fabric binaries (set FABRIC_BIN to a folder of Fabric $FABRIC_VERSION binaries)." >&2
  [[ "${PHR_REQUIRE_E2E:-0}" == 1 ]] && exit 1
  exit 0
fi
# shellcheck disable=SC1091
source "$probe_state/fabric.env"
export FABRIC_BIN FABRIC_CFG_DIR
rm -rf "$probe_state"
cd "$PHR_ROOT"
exec npx jest --ci --runInBand --config network/e2e/jest.config.js --json --outputFile="$results"
