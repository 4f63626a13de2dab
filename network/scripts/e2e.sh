#!/usr/bin/env bash
# Runs the end-to-end and conformance suites, each pass on a fresh network with its own ports and
# state folder: on the embedded network always, and on real Fabric when its binaries can be had
# (fabric-bin.sh). PHR_ENGINE=fabric|embedded runs that pass alone (and fabric without binaries fails).
# Results: test-results/e2e-<engine>.json; a pass that cannot run says why in its file.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$PHR_ROOT"
mkdir -p test-results
rm -f test-results/e2e-embedded.json test-results/e2e-fabric.json

not_run() {
  printf '{"numPassedTests":0,"numFailedTests":0,"notRun":%s}\n' \
    "$(node -e 'console.log(JSON.stringify(process.argv[1]))' "$2")" >"test-results/e2e-$1.json"
}

run_pass() {
  local engine="$1"
  phase "End-to-end and conformance suites on the $engine engine"
  PHR_ENGINE="$engine" NODE_OPTIONS="${NODE_OPTIONS:---no-deprecation}" npx jest --ci --runInBand --config network/e2e/jest.config.js --json \
    --outputFile="test-results/e2e-$engine.json" || return 1
}

status=0
case "${PHR_ENGINE:-}" in
  embedded)
    run_pass embedded || status=1
    not_run fabric "not requested (PHR_ENGINE=embedded)"
    ;;
  fabric)
    probe="$(mktemp -d)"
    if ! reason="$(PHR_STATE="$probe" "$PHR_ROOT/network/scripts/fabric-bin.sh" 2>&1 >/dev/null)"; then
      rm -rf "$probe"
      die "PHR_ENGINE=fabric, but Fabric's binaries cannot be had: $(printf '%s' "$reason" | tail -n 1 | sed 's/^error: //')"
    fi
    rm -rf "$probe"
    run_pass fabric || status=1
    not_run embedded "not requested (PHR_ENGINE=fabric)"
    ;;
  '')
    run_pass embedded || status=1
    probe="$(mktemp -d)"
    if reason="$(PHR_STATE="$probe" "$PHR_ROOT/network/scripts/fabric-bin.sh" 2>&1 >/dev/null)"; then
      rm -rf "$probe"
      run_pass fabric || status=1
    else
      rm -rf "$probe"
      reason="Fabric binaries not found ($(printf '%s' "$reason" | tail -n 1 | sed 's/^error: //'))"
      not_run fabric "$reason"
      echo "e2e on real Fabric: not run: $reason" >&2
    fi
    ;;
  *) die "PHR_ENGINE must be fabric or embedded, not '$PHR_ENGINE'" ;;
esac
exit "$status"
