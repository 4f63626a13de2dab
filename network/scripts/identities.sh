# shellcheck shell=bash
# Identity helpers (sourced): every identity is issued by the organisation's Fabric CA.

ca_url() { printf 'https://%s:%s' "$(v "CA_${1}_HOST")" "$(v "CA_${1}_PORT")"; }
ca_tls_cert() { printf '%s/ca/ca-cert.pem' "$(org_dir "$1")"; }

# NodeOUs: a certificate's role comes from the OU that Fabric CA writes from the identity type.
write_node_ous() {
  cat >"$1/config.yaml" <<YAML
NodeOUs:
  Enable: true
  ClientOUIdentifier: { Certificate: cacerts/ca.pem, OrganizationalUnitIdentifier: client }
  PeerOUIdentifier: { Certificate: cacerts/ca.pem, OrganizationalUnitIdentifier: peer }
  AdminOUIdentifier: { Certificate: cacerts/ca.pem, OrganizationalUnitIdentifier: admin }
  OrdererOUIdentifier: { Certificate: cacerts/ca.pem, OrganizationalUnitIdentifier: orderer }
YAML
}

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

# The CA's bootstrap admin (registrar) and the organisation's channel MSP folder.
enroll_registrar() {
  local org="$1" dir
  dir="$(org_dir "$org")"
  if [[ -f "$dir/ca-client/msp/signcerts/cert.pem" && -f "$dir/msp/config.yaml" ]]; then return 1; fi
  mkdir -p "$dir/ca-client" "$dir/msp/cacerts" "$dir/msp/tlscacerts"
  ca_client "$org" enroll --id admin --secret "$(secret_for "$org" ca-admin)" --msp-dir "$(registrar_msp "$org")" ||
    die "could not enroll the CA admin of $org; see $(log_file "ca-client.$org")"
  cp "$dir/ca/ca-cert.pem" "$dir/msp/cacerts/ca.pem"
  cp "$dir/ca/ca-cert.pem" "$dir/msp/tlscacerts/ca.pem"
  write_node_ous "$dir/msp"
  return 0
}

# enroll_identity ORG NAME TYPE ATTRS HOSTS: registers NAME (once) and enrolls a signing certificate
# (msp/) and a TLS certificate (tls/). Returns 1 when it already existed.
enroll_identity() {
  local org="$1" name="$2" type="$3" attrs="$4" hosts="$5" dir secret
  dir="$(id_dir "$org" "$name")"
  [[ -f "$dir/msp/signcerts/cert.pem" && -f "$dir/tls/server.key" ]] && return 1
  secret="$(secret_for "$org" "$name")"
  local reg=(register --registrar-msp "$(registrar_msp "$org")" --id "$name" --secret "$secret" --type "$type")
  [[ -n "$attrs" ]] && reg+=(--attrs "$attrs")
  local rc=0
  ca_client "$org" "${reg[@]}" || rc=$?
  # 3: "Identity '<name>' is already registered" (a re-run after an interrupted enrollment)
  ((rc == 0 || rc == 3)) || die "could not register $name at ca-$org; see $(log_file "ca-client.$org")"
  rm -rf "$dir"
  mkdir -p "$dir"
  ca_client "$org" enroll --id "$name" --secret "$secret" --msp-dir "$dir/msp" --hosts "$hosts" ||
    die "could not enroll $name at ca-$org; see $(log_file "ca-client.$org")"
  ca_client "$org" enroll --id "$name" --secret "$secret" --msp-dir "$dir/tls-msp" --profile tls --hosts "$hosts" ||
    die "could not enroll a TLS certificate for $name at ca-$org; see $(log_file "ca-client.$org")"
  # Normalise: one CA file name that config.yaml can point at, fixed TLS file names.
  rm -rf "$dir/msp/cacerts" "$dir/msp/intermediatecerts"
  mkdir -p "$dir/msp/cacerts" "$dir/msp/tlscacerts" "$dir/tls"
  cp "$(org_dir "$org")/ca/ca-cert.pem" "$dir/msp/cacerts/ca.pem"
  cp "$(org_dir "$org")/ca/ca-cert.pem" "$dir/msp/tlscacerts/ca.pem"
  mv "$dir/msp/signcerts/"*.pem "$dir/msp/signcerts/cert.pem" 2>/dev/null || true
  write_node_ous "$dir/msp"
  cp "$dir/tls-msp/signcerts/"*.pem "$dir/tls/server.crt"
  cp "$dir/tls-msp/keystore/"* "$dir/tls/server.key"
  cp "$(org_dir "$org")/ca/ca-cert.pem" "$dir/tls/ca.crt"
  rm -rf "$dir/tls-msp"
  chmod 600 "$dir/tls/server.key" "$dir/msp/keystore/"*
  return 0
}
