#!/usr/bin/env bash
# Node.js flags for a gateway process, printed on one line (gateway.sh and `make bench` use them).
#
# On two cores or fewer, V8's parallel and concurrent garbage collection is turned off: its helper
# threads compete with the ingest threads for cores a loaded gateway has none of to spare. Measured
# with C-CDA documents through the whole path on two cores (README, "Benchmarks"): the gateway's
# other threads spent ~10 ms less CPU per document and committed ~15 % more documents per second;
# the peers and orderers, which allocate little, gained nothing, so they keep V8's defaults.
#
# On every machine, V8's young generation is given 32 MiB semi-spaces (16 by default): an ingest
# parses, converts and seals a few hundred KB of short-lived objects per C-CDA document, and with
# room for more of them between scavenges fewer survive into the old generation. Four alternating
# runs on two cores: 2-4 ms less ingest-thread and ~1 ms less event-loop CPU per document, at most
# ~100 MB more memory per gateway (three isolates: the event loop and two ingest threads).
# PHR_GATEWAY_NODE_FLAGS, when set (even empty), replaces the choice.
set -euo pipefail
young='--max-semi-space-size=32'
# The cores this process may run on (nproc follows the CPU affinity); getconf where there is no nproc.
cores="$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null || echo 0)"
if [[ -n "${PHR_GATEWAY_NODE_FLAGS+set}" ]]; then
  printf '%s\n' "$PHR_GATEWAY_NODE_FLAGS"
elif [[ "$cores" =~ ^[0-9]+$ ]] && ((cores > 0 && cores <= 2)); then
  printf '%s\n' "--single-threaded-gc $young"
else
  printf '%s\n' "$young"
fi
