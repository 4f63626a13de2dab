#!/usr/bin/env bash
# Supervises hospital $1's chaincode server (chaincode as a service): restarts it if it exits.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source_topology
org="${1:?usage: chaincode.sh HOSPITAL}"
id="$(id_dir "$org" chaincode)"
package_id="$(cat "$PHR_STATE/chaincode/$org/package-id")"
address="$(v "HOSPITAL_${org}_CC_HOST"):$(v "HOSPITAL_${org}_CC_PORT")"
export CORE_CHAINCODE_LOGGING_LEVEL="${CORE_CHAINCODE_LOGGING_LEVEL:-warn}"

child=0
trap '[[ $child -gt 0 ]] && kill -TERM "$child" 2>/dev/null; wait "$child" 2>/dev/null; exit 0' TERM INT
while true; do
  node "$PHR_ROOT/node_modules/fabric-shim/cli.js" server \
    --chaincode-address "$address" \
    --chaincode-id "$package_id" \
    --module-path "$PHR_ROOT/chaincode" \
    --chaincode-tls-cert-file "$id/tls/server.crt" \
    --chaincode-tls-key-file "$id/tls/server.key" &
  child=$!
  set +e
  wait "$child"
  rc=$?
  set -e
  echo "$(date -u +%FT%TZ) chaincode server exited with $rc; restarting in 2s"
  sleep 2
done
