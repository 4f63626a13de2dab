#!/usr/bin/env bash
# One Fabric CA for organisation $1: fabric-ca-server, or the embedded CA (PHR_ENGINE=embedded) with
# the same settings. Only overrides defaults; state in orgs/ORG/ca.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source_topology
load_engine
org="${1:?usage: ca.sh ORG}"
host="$(v "CA_${org}_HOST")"
port="$(v "CA_${org}_PORT")"
ops="$host:$(v "CA_${org}_OPS_PORT")"
hosts="$host,localhost,127.0.0.1"
home="$(org_dir "$org")/ca"
bootstrap="admin:$(secret_for "$org" ca-admin)"
mkdir -p "$home"
if [[ "${PHR_ENGINE:-}" == embedded ]]; then
  exec node --no-deprecation "$PHR_ROOT/network/embedded/dist/ca/main.js" \
    --home "$home" \
    --address "$host" --port "$port" \
    --ca-name "ca-$org" \
    --csr-cn "ca.$org" --csr-hosts "$hosts" \
    --operations-address "$ops" \
    --bootstrap "$bootstrap"
fi
exec fabric-ca-server start \
  --home "$home" \
  --address "$host" --port "$port" \
  --tls.enabled \
  --ca.name "ca-$org" \
  --csr.cn "ca.$org" --csr.hosts "$hosts" \
  --operations.listenaddress "$ops" \
  --metrics.provider disabled \
  -b "$bootstrap"
