#!/usr/bin/env bash
# Runs hospital $1's FHIR gateway with the config network-up generated for it.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
org="${1:?usage: gateway.sh HOSPITAL}"
# shellcheck disable=SC2046 # the flags are words
exec node $("$PHR_ROOT/network/scripts/gateway-node-flags.sh") "$PHR_ROOT/gateway/dist/main.js" \
  --config "$PHR_STATE/gateways/$org/gateway.json"
