#!/usr/bin/env bash
# The doorman's desk: registers a new patient identity at the patients' CA and prints the one-time
# enrollment id and secret as JSON. The patient's agent enrolls with them from its own CSR
# (`phr-agent init`), so the private key is made on the device and never leaves it.
# usage: register-patient.sh [ID]   (default: a random, meaningless id: never a name or MRN)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$PHR_ROOT/network/scripts/identities.sh"
source_topology
id="${1:-patient-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')}"
[[ "$id" =~ ^[a-z][a-z0-9-]{1,60}$ ]] || die "ID must be lower-case letters, digits and dashes"
secret="$(od -An -N18 -tx1 /dev/urandom | tr -d ' \n')"
ca_client patients register --registrar-msp "$(registrar_msp patients)" --id "$id" --secret "$secret" \
  --type client --max-enrollments 1 --attrs "phr.role=patient:ecert" ||
  die "could not register $id at ca-patients; see $(log_file "ca-client.patients")"
printf '{"enrollmentId":"%s","enrollmentSecret":"%s","caUrl":"%s"}\n' "$id" "$secret" "$(ca_url patients)"
