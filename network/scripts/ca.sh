#!/usr/bin/env bash
# One Fabric CA (fabric-ca-server) for organisation $1. Only overrides defaults; state in orgs/ORG/ca.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source_topology
load_fabric
org="${1:?usage: ca.sh ORG}"
host="$(v "CA_${org}_HOST")"
home="$(org_dir "$org")/ca"
mkdir -p "$home"
exec fabric-ca-server start \
  --home "$home" \
  --address "$host" --port "$(v "CA_${org}_PORT")" \
  --tls.enabled \
  --ca.name "ca-$org" \
  --csr.cn "ca.$org" --csr.hosts "$host,localhost,127.0.0.1" \
  --operations.listenaddress "$host:$(v "CA_${org}_OPS_PORT")" \
  --metrics.provider disabled \
  -b "admin:$(secret_for "$org" ca-admin)"
