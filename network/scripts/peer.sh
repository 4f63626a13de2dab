#!/usr/bin/env bash
# The peer of hospital $1: Fabric's peer (LevelDB state) with its stock core.yaml, overridden here;
# or, on the embedded engine, the embedded peer with the same identity, ports and data folder.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source_topology
load_engine
org="${1:?usage: peer.sh HOSPITAL}"
host="$(v "HOSPITAL_${org}_PEER_HOST")"
port="$(v "HOSPITAL_${org}_PEER_PORT")"
id="$(id_dir "$org" peer0)"
data="$PHR_STATE/nodes/peer0.$org"
mkdir -p "$data"

if [[ "$PHR_ENGINE" == embedded ]]; then
  exec node --no-deprecation "$PHR_EMBEDDED/peer/main.js" --id "peer0.$org" --msp-id "$(v "HOSPITAL_${org}_MSP")" --msp-dir "$id/msp" \
    --tls-cert "$id/tls/server.crt" --tls-key "$id/tls/server.key" \
    --listen "$host:$port" --operations "$host:$(v "HOSPITAL_${org}_PEER_OPS_PORT")" \
    --data "$data" --genesis-block "$PHR_STATE/channel/genesis.block"
fi

export FABRIC_CFG_PATH="$FABRIC_CFG_DIR"
export FABRIC_LOGGING_SPEC="${FABRIC_LOGGING_SPEC:-info}"
export CORE_PEER_ID="peer0.$org"
export CORE_PEER_ADDRESS="$host:$port"
export CORE_PEER_LISTENADDRESS="$host:$port"
export CORE_PEER_CHAINCODEADDRESS="$host:$(v "HOSPITAL_${org}_PEER_CC_PORT")"
export CORE_PEER_CHAINCODELISTENADDRESS="$host:$(v "HOSPITAL_${org}_PEER_CC_PORT")"
export CORE_PEER_GOSSIP_BOOTSTRAP="$host:$port"
export CORE_PEER_GOSSIP_EXTERNALENDPOINT="$host:$port"
export CORE_PEER_LOCALMSPID="$(v "HOSPITAL_${org}_MSP")"
export CORE_PEER_MSPCONFIGPATH="$id/msp"
export CORE_PEER_FILESYSTEMPATH="$data"
export CORE_PEER_TLS_ENABLED=true
export CORE_PEER_TLS_CERT_FILE="$id/tls/server.crt"
export CORE_PEER_TLS_KEY_FILE="$id/tls/server.key"
export CORE_PEER_TLS_ROOTCERT_FILE="$id/tls/ca.crt"
export CORE_LEDGER_STATE_STATEDATABASE=goleveldb
export CORE_OPERATIONS_LISTENADDRESS="$host:$(v "HOSPITAL_${org}_PEER_OPS_PORT")"
export CORE_OPERATIONS_TLS_ENABLED=true
export CORE_OPERATIONS_TLS_CERT_FILE="$id/tls/server.crt"
export CORE_OPERATIONS_TLS_KEY_FILE="$id/tls/server.key"
export CORE_METRICS_PROVIDER=disabled
# No Docker here: an empty VM endpoint plus the chaincode-as-a-service builder.
export CORE_VM_ENDPOINT=
export CORE_CHAINCODE_EXTERNALBUILDERS="[{name: ccaas, path: $PHR_STATE/builders/ccaas, propagateEnvironment: [CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG]}]"
exec peer node start
