# shellcheck shell=bash
# Identity helpers (sourced): every identity is issued by the organisation's Fabric CA.

ca_url() { printf 'https://%s:%s' "$(v "CA_${1}_HOST")" "$(v "CA_${1}_PORT")"; }
ca_tls_cert() { printf '%s/ca/ca-cert.pem' "$(org_dir "$1")"; }

# ca_client ORG enroll|register ...: phr-ca (network/src/ca-cli.ts), which talks to fabric-ca-server
# and to the embedded CA alike through fabric-ca-client. Exit 3: already registered.
ca_client() {
  local org="$1" command="$2"
  shift 2
  node "$PHR_ROOT/network/dist/ca-cli.js" "$command" "$@" --url "$(ca_url "$org")" --ca-name "ca-$org" \
    --tls-cert "$(ca_tls_cert "$org")" >>"$(log_file "ca-client.$org")" 2>&1
}

# The registrar's MSP, with which ca_client registers.
registrar_msp() { printf '%s/ca-client/msp' "$(org_dir "$1")"; }
