#!/usr/bin/env bash
# Registers and enrolls an identity at an organisation's Fabric CA, with its role as a certificate
# attribute: `enroll.sh ORG NAME ROLE [--emergency]`. ROLE is one of hospital-gateway, ehr, clinician, agent,
# patient, researcher, admin. The identity lands in $PHR_STATE/orgs/ORG/identities/NAME.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[[ $# -ge 3 ]] || die "usage: enroll.sh ORG NAME ROLE [--emergency]"
org="$1" name="$2" role="$3"
[[ "$name" =~ ^[a-z][a-z0-9-]{1,40}$ ]] || die "NAME must be lower-case letters, digits and dashes"
case "$role" in hospital-gateway | ehr | clinician | agent | patient | researcher | admin) ;; *) die "unknown role $role" ;; esac
source_topology
attrs="phr.role=$role:ecert"
[[ "${4:-}" == "--emergency" ]] && attrs="$attrs,phr.emergency=true:ecert"
type=client
[[ "$role" == admin ]] && type=admin
out="$(node "$PHR_ROOT/network/dist/cli.js" identity --topology "$PHR_TOPOLOGY" --state "$PHR_STATE" \
  --org "$org" --name "$name" --type "$type" --attrs "$attrs" --hosts localhost 2>>"$(log_file "ca-client.$org")")" ||
  die "could not enroll $org/$name; see $(log_file "ca-client.$org")"
if [[ "$out" == *"already enrolled"* ]]; then
  echo "$org/$name already enrolled in $(id_dir "$org" "$name")"
else
  echo "enrolled $org/$name (role $role) in $(id_dir "$org" "$name")"
fi
