#!/usr/bin/env bash
# One Raft orderer ($1). Stock orderer.yaml from Fabric's sampleconfig, overridden here.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source_topology
load_fabric
name="${1:?usage: orderer.sh NAME}"
host="$(v "ORDERER_${name}_HOST")"
id="$(id_dir orderer "$name")"
data="$PHR_STATE/nodes/$name"
mkdir -p "$data"

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
