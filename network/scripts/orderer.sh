#!/usr/bin/env bash
# One orderer ($1): a Raft orderer with Fabric's stock orderer.yaml, overridden here; or, on the
# embedded engine, the embedded orderer with the same identity, ports and data folder.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source_topology
load_engine
name="${1:?usage: orderer.sh NAME}"
host="$(v "ORDERER_${name}_HOST")"
id="$(id_dir orderer "$name")"
data="$PHR_STATE/nodes/$name"
mkdir -p "$data"

if [[ "$PHR_ENGINE" == embedded ]]; then
  exec node --no-deprecation "$PHR_EMBEDDED/orderer/main.js" --id "$name" --msp-id "$PHR_ORDERER_MSP" --msp-dir "$id/msp" \
    --tls-cert "$id/tls/server.crt" --tls-key "$id/tls/server.key" \
    --listen "$host:$(v "ORDERER_${name}_PORT")" --operations "$host:$(v "ORDERER_${name}_OPS_PORT")" \
    --data "$data" --genesis-block "$PHR_STATE/channel/genesis.block"
fi

export FABRIC_CFG_PATH="$FABRIC_CFG_DIR"
export FABRIC_LOGGING_SPEC="${FABRIC_LOGGING_SPEC:-info}"
export ORDERER_GENERAL_LISTENADDRESS="$host"
export ORDERER_GENERAL_LISTENPORT="$(v "ORDERER_${name}_PORT")"
export ORDERER_GENERAL_LOCALMSPID="$PHR_ORDERER_MSP"
export ORDERER_GENERAL_LOCALMSPDIR="$id/msp"
export ORDERER_GENERAL_BOOTSTRAPMETHOD=none
export ORDERER_GENERAL_TLS_ENABLED=true
export ORDERER_GENERAL_TLS_CERTIFICATE="$id/tls/server.crt"
export ORDERER_GENERAL_TLS_PRIVATEKEY="$id/tls/server.key"
export ORDERER_GENERAL_TLS_ROOTCAS="[$id/tls/ca.crt]"
export ORDERER_GENERAL_CLUSTER_CLIENTCERTIFICATE="$id/tls/server.crt"
export ORDERER_GENERAL_CLUSTER_CLIENTPRIVATEKEY="$id/tls/server.key"
export ORDERER_GENERAL_CLUSTER_ROOTCAS="[$id/tls/ca.crt]"
export ORDERER_FILELEDGER_LOCATION="$data/ledger"
export ORDERER_CONSENSUS_WALDIR="$data/etcdraft/wal"
export ORDERER_CONSENSUS_SNAPDIR="$data/etcdraft/snapshot"
export ORDERER_CHANNELPARTICIPATION_ENABLED=true
export ORDERER_ADMIN_LISTENADDRESS="$host:$(v "ORDERER_${name}_ADMIN_PORT")"
export ORDERER_ADMIN_TLS_ENABLED=true
export ORDERER_ADMIN_TLS_CERTIFICATE="$id/tls/server.crt"
export ORDERER_ADMIN_TLS_PRIVATEKEY="$id/tls/server.key"
export ORDERER_ADMIN_TLS_ROOTCAS="[$id/tls/ca.crt]"
export ORDERER_ADMIN_TLS_CLIENTAUTHREQUIRED=true
export ORDERER_ADMIN_TLS_CLIENTROOTCAS="[$id/tls/ca.crt]"
export ORDERER_OPERATIONS_LISTENADDRESS="$host:$(v "ORDERER_${name}_OPS_PORT")"
export ORDERER_OPERATIONS_TLS_ENABLED=true
export ORDERER_OPERATIONS_TLS_CERTIFICATE="$id/tls/server.crt"
export ORDERER_OPERATIONS_TLS_PRIVATEKEY="$id/tls/server.key"
export ORDERER_OPERATIONS_TLS_CLIENTAUTHREQUIRED=false
export ORDERER_METRICS_PROVIDER=disabled
exec orderer
