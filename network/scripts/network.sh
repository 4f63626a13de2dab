#!/usr/bin/env bash
# Runs the PHR Ledger network: `network.sh up | down | clean | status`. The engine is real Fabric
# when its binaries can be had and the embedded network otherwise (engine.sh; PHR_ENGINE forces one).
# Everything it generates (crypto material, ledgers, logs, pids) lives in $PHR_STATE.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$PHR_ROOT/network/scripts/identities.sh"
SCRIPTS="$PHR_ROOT/network/scripts"
CHANGED=0
changed() { CHANGED=1; }

# ensure_started NAME SCRIPT ARG: starts a process script unless its pid is alive.
ensure_started() {
  if is_running "$1"; then
    skip "$1 already running"
  else
    step "starting $1"
    start_process "$1" "$SCRIPTS/$2" "$3"
    changed
  fi
}

peer_cli() {
  # peer CLI as the hospital's admin, against its own peer
  local org="$1"
  shift
  FABRIC_CFG_PATH="$FABRIC_CFG_DIR" \
    CORE_PEER_LOCALMSPID="$(v "HOSPITAL_${org}_MSP")" \
    CORE_PEER_MSPCONFIGPATH="$(id_dir "$org" orgadmin)/msp" \
    CORE_PEER_ADDRESS="$(v "HOSPITAL_${org}_PEER_HOST"):$(v "HOSPITAL_${org}_PEER_PORT")" \
    CORE_PEER_TLS_ENABLED=true \
    CORE_PEER_TLS_ROOTCERT_FILE="$(ca_cert "$org")" \
    FABRIC_LOGGING_SPEC=error \
    peer "$@"
}

orderer_args() {
  local o="${PHR_ORDERERS[0]}"
  printf '%s\n' -o "$(v "ORDERER_${o}_HOST"):$(v "ORDERER_${o}_PORT")" --tls --cafile "$(ca_cert orderer)"
}

start_cas() {
  phase "Certificate authorities"
  local org
  for org in "${PHR_CA_ORGS[@]}"; do ensure_started "ca.$org" ca.sh "$org"; done
  for org in "${PHR_CA_ORGS[@]}"; do
    # The CA writes its certificate at first start; /cainfo over TLS proves it serves.
    local i
    for ((i = 0; i < 120; i++)); do [[ -f "$(org_dir "$org")/ca/ca-cert.pem" ]] && break; sleep 0.25; done
    wait_https "ca.$org" "$(ca_url "$org")/cainfo" "$(ca_tls_cert "$org")" 60
    done_ "ca.$org healthy at $(ca_url "$org")"
  done
}

enroll_all() {
  phase "Identities (issued by the CAs through fabric-ca-client; roles as certificate attributes)"
  local out
  out="$(node "$PHR_ROOT/network/dist/cli.js" identities --topology "$PHR_TOPOLOGY" --state "$PHR_STATE" 2>>"$(log_file identities)")" ||
    die "identities could not be issued; see $(log_file identities)"
  if [[ "$out" == "nothing to issue" ]]; then
    done_ "identities in place"
    return
  fi
  while IFS= read -r line; do step "$line"; done <<<"$out"
  done_ "identities in place"
  changed
}

genesis_block() {
  phase "Channel '$PHR_CHANNEL'"
  local block="$PHR_STATE/channel/genesis.block"
  if [[ -f "$block" ]]; then
    skip "genesis block exists"
    return
  fi
  node "$PHR_ROOT/network/dist/cli.js" configtx --topology "$PHR_TOPOLOGY" --state "$PHR_STATE" --engine "$PHR_ENGINE"
  if [[ "$PHR_ENGINE" == embedded ]]; then
    node "$PHR_EMBEDDED/cli.js" genesis --configtx "$PHR_STATE/channel/configtx.yaml" --profile PhrChannel \
      --channel "$PHR_CHANNEL" --out "$block" >>"$(log_file genesis)" 2>&1 || die "the genesis block could not be made; see $(log_file genesis)"
    done_ "genesis block for $PHR_CHANNEL (one orderer, BatchTimeout 200ms)"
  else
    FABRIC_LOGGING_SPEC=error configtxgen -configPath "$PHR_STATE/channel" -profile PhrChannel \
      -channelID "$PHR_CHANNEL" -outputBlock "$block" >>"$(log_file configtxgen)" 2>&1 ||
      die "configtxgen failed; see $(log_file configtxgen)"
    done_ "genesis block for $PHR_CHANNEL (Raft, BatchTimeout 200ms)"
  fi
  changed
}

# The orderer nodes this engine runs: every node of the topology on Fabric (Raft), the first on the
# embedded network (one orderer, no consensus protocol).
orderer_nodes() {
  if [[ "$PHR_ENGINE" == embedded ]]; then echo "${PHR_ORDERERS[0]}"; else printf '%s\n' "${PHR_ORDERERS[@]}"; fi
}

start_orderers() {
  local n
  if [[ "$PHR_ENGINE" == embedded ]]; then
    phase "Orderer (embedded: one node)"
  else
    phase "Orderers (Raft)"
  fi
  while read -r n; do ensure_started "$n" orderer.sh "$n"; done < <(orderer_nodes)
  while read -r n; do
    wait_https "$n" "https://$(v "ORDERER_${n}_HOST"):$(v "ORDERER_${n}_OPS_PORT")/healthz" "$(ca_cert orderer)" 60
    if [[ "$PHR_ENGINE" == embedded ]]; then
      done_ "$n healthy, ordering $PHR_CHANNEL"
      continue
    fi
    local admin=(--ca-file "$(ca_cert orderer)" --client-cert "$(id_dir orderer orgadmin)/tls/server.crt"
      --client-key "$(id_dir orderer orgadmin)/tls/server.key" -o "$(v "ORDERER_${n}_HOST"):$(v "ORDERER_${n}_ADMIN_PORT")")
    if osnadmin channel list "${admin[@]}" 2>/dev/null | grep -q "\"name\": \"$PHR_CHANNEL\""; then
      done_ "$n healthy, member of $PHR_CHANNEL"
    else
      osnadmin channel join --channelID "$PHR_CHANNEL" --config-block "$PHR_STATE/channel/genesis.block" "${admin[@]}" \
        >>"$(log_file osnadmin)" 2>&1 || die "osnadmin could not join $n to $PHR_CHANNEL; see $(log_file osnadmin)"
      done_ "$n joined $PHR_CHANNEL"
      changed
    fi
  done < <(orderer_nodes)
  if [[ "$PHR_ENGINE" == embedded && ${#PHR_ORDERERS[@]} -gt 1 ]]; then
    skip "${PHR_ORDERERS[*]:1}: not run by the embedded network (one orderer, no Raft)"
  fi
}

prepare_builder() {
  local dir="$PHR_STATE/builders/ccaas/bin" c src
  mkdir -p "$dir"
  for c in "${CCAAS_COMMANDS[@]}"; do
    src="$FABRIC_BIN/$c"
    [[ -x "$src" ]] || src="$FABRIC_BIN/ccaas/$c"
    ln -sfn "$src" "$dir/$c"
  done
}

# peer_member HOSPITAL [TRIES]: whether the Fabric peer lists the channel (asking TRIES times, 0.5 s apart).
peer_member() {
  local i
  for ((i = 0; i < ${2:-1}; i++)); do
    peer_cli "$1" channel list 2>/dev/null | grep -qx "$PHR_CHANNEL" && return 0
    sleep 0.5
  done
  return 1
}

start_peers() {
  phase "Peers (one per hospital, $([[ "$PHR_ENGINE" == embedded ]] && echo SQLite || echo LevelDB))"
  [[ "$PHR_ENGINE" == fabric ]] && prepare_builder
  local h
  for h in "${PHR_HOSPITALS[@]}"; do ensure_started "peer0.$h" peer.sh "$h"; done
  for h in "${PHR_HOSPITALS[@]}"; do
    wait_https "peer0.$h" "https://$(v "HOSPITAL_${h}_PEER_HOST"):$(v "HOSPITAL_${h}_PEER_OPS_PORT")/healthz" "$(ca_cert "$h")" 60
    if [[ "$PHR_ENGINE" == embedded ]]; then
      # The embedded peer joins from the genesis block peer.sh gives it, at its first start.
      done_ "peer0.$h healthy, member of $PHR_CHANNEL"
    elif peer_member "$h"; then
      done_ "peer0.$h healthy, member of $PHR_CHANNEL"
    else
      if ! peer_cli "$h" channel join -b "$PHR_STATE/channel/genesis.block" >>"$(log_file "peer-cli.$h")" 2>&1; then
        # A peer that has just restarted may answer `channel list` late: it may be a member already.
        peer_member "$h" 20 || die "peer0.$h could not join $PHR_CHANNEL; see $(log_file "peer-cli.$h")"
        done_ "peer0.$h healthy, member of $PHR_CHANNEL"
        continue
      fi
      done_ "peer0.$h joined $PHR_CHANNEL"
      changed
    fi
  done
}

package_chaincode() {
  local h="$1" dir="$PHR_STATE/chaincode/$1"
  [[ -f "$dir/package.tar.gz" ]] && return 1
  mkdir -p "$dir/build"
  local address
  address="$(v "HOSPITAL_${h}_CC_HOST"):$(v "HOSPITAL_${h}_CC_PORT")"
  node -e '
    const fs = require("fs");
    const [out, address, rootCertFile] = process.argv.slice(1);
    fs.writeFileSync(out, JSON.stringify({ address, dial_timeout: "10s", tls_required: true,
      client_auth_required: false, root_cert: fs.readFileSync(rootCertFile, "utf8") }, null, 2));
  ' "$dir/build/connection.json" "$address" "$(ca_cert "$h")"
  printf '{"type":"ccaas","label":"%s_%s"}\n' "$PHR_CC_NAME" "$PHR_CC_VERSION" >"$dir/build/metadata.json"
  tar -C "$dir/build" -czf "$dir/build/code.tar.gz" connection.json
  tar -C "$dir/build" -czf "$dir/package.tar.gz" metadata.json code.tar.gz
  return 0
}

deploy_chaincode() {
  phase "Chaincode '$PHR_CC_NAME' as a service (endorsement: $PHR_ENDORSEMENT_POLICY)"
  local h
  for h in "${PHR_HOSPITALS[@]}"; do
    package_chaincode "$h" && { step "packaged for $h"; changed; }
  done
  if [[ "$PHR_ENGINE" == embedded ]]; then deploy_embedded; else deploy_fabric; fi
}

# The embedded peers' lifecycle: install the package, approve it for the definition, define it.
deploy_embedded() {
  local h id data sequence=1 defs="$PHR_STATE/channel/chaincodes"
  for h in "${PHR_HOSPITALS[@]}"; do
    data="$PHR_STATE/nodes/peer0.$h"
    id="$(node "$PHR_EMBEDDED/cli.js" package-id "$PHR_STATE/chaincode/$h/package.tar.gz")"
    echo "$id" >"$PHR_STATE/chaincode/$h/package-id"
    if [[ -f "$data/lifecycle/packages/${id/:/.}.tar.gz" ]]; then
      skip "installed on peer0.$h"
    else
      node "$PHR_EMBEDDED/cli.js" install --peer-data "$data" --package "$PHR_STATE/chaincode/$h/package.tar.gz" >/dev/null
      step "installed on peer0.$h"
      changed
    fi
    if [[ -f "$data/lifecycle/approvals/$PHR_CC_NAME.json" ]]; then
      skip "$h already approved"
    else
      node "$PHR_EMBEDDED/cli.js" approve --peer-data "$data" --name "$PHR_CC_NAME" --sequence "$sequence" --package-id "$id"
      step "approved by $h"
      changed
    fi
    ensure_started "chaincode.$h" chaincode.sh "$h"
  done
  if [[ -f "$defs/$PHR_CC_NAME.json" ]]; then
    done_ "definition in place: version $PHR_CC_VERSION, sequence $sequence"
  else
    node "$PHR_EMBEDDED/cli.js" define --definitions "$defs" --name "$PHR_CC_NAME" --version "$PHR_CC_VERSION" \
      --sequence "$sequence" --policy "$PHR_ENDORSEMENT_POLICY"
    done_ "definition written (version $PHR_CC_VERSION, sequence $sequence)"
    changed
  fi
  wait_endorsable
}

deploy_fabric() {
  local h id
  mapfile -t ord < <(orderer_args)
  for h in "${PHR_HOSPITALS[@]}"; do
    id="$(peer_cli "$h" lifecycle chaincode calculatepackageid "$PHR_STATE/chaincode/$h/package.tar.gz")"
    echo "$id" >"$PHR_STATE/chaincode/$h/package-id"
    if peer_cli "$h" lifecycle chaincode queryinstalled 2>/dev/null | grep -q "Package ID: $id,"; then
      skip "installed on peer0.$h"
    else
      peer_cli "$h" lifecycle chaincode install "$PHR_STATE/chaincode/$h/package.tar.gz" >>"$(log_file "peer-cli.$h")" 2>&1 ||
        die "install on peer0.$h failed; see $(log_file "peer-cli.$h")"
      step "installed on peer0.$h"
      changed
    fi
    ensure_started "chaincode.$h" chaincode.sh "$h"
  done

  local committed sequence
  committed="$(peer_cli "${PHR_HOSPITALS[0]}" lifecycle chaincode querycommitted -C "$PHR_CHANNEL" -n "$PHR_CC_NAME" 2>/dev/null || true)"
  if [[ -n "$committed" ]]; then
    done_ "definition committed: $(echo "$committed" | grep -o 'Version: [^,]*, Sequence: [0-9]*')"
    wait_endorsable
    return
  fi
  sequence=1
  for h in "${PHR_HOSPITALS[@]}"; do
    id="$(cat "$PHR_STATE/chaincode/$h/package-id")"
    if peer_cli "$h" lifecycle chaincode checkcommitreadiness -C "$PHR_CHANNEL" -n "$PHR_CC_NAME" -v "$PHR_CC_VERSION" \
      --sequence "$sequence" --signature-policy "$PHR_ENDORSEMENT_POLICY" -O json 2>/dev/null |
      grep -q "\"$(v "HOSPITAL_${h}_MSP")\": true"; then
      skip "$h already approved"
      continue
    fi
    peer_cli "$h" lifecycle chaincode approveformyorg "${ord[@]}" -C "$PHR_CHANNEL" -n "$PHR_CC_NAME" -v "$PHR_CC_VERSION" \
      --package-id "$id" --sequence "$sequence" --signature-policy "$PHR_ENDORSEMENT_POLICY" --waitForEvent \
      >>"$(log_file "peer-cli.$h")" 2>&1 || die "approval by $h failed; see $(log_file "peer-cli.$h")"
    step "approved by $h"
    changed
  done
  local peers=()
  for h in "${PHR_HOSPITALS[@]}"; do
    peers+=(--peerAddresses "$(v "HOSPITAL_${h}_PEER_HOST"):$(v "HOSPITAL_${h}_PEER_PORT")" --tlsRootCertFiles "$(ca_cert "$h")")
  done
  peer_cli "${PHR_HOSPITALS[0]}" lifecycle chaincode commit "${ord[@]}" -C "$PHR_CHANNEL" -n "$PHR_CC_NAME" \
    -v "$PHR_CC_VERSION" --sequence "$sequence" --signature-policy "$PHR_ENDORSEMENT_POLICY" "${peers[@]}" --waitForEvent \
    >>"$(log_file "peer-cli.${PHR_HOSPITALS[0]}")" 2>&1 || die "commit of the chaincode definition failed; see $(log_file "peer-cli.${PHR_HOSPITALS[0]}")"
  done_ "definition committed (version $PHR_CC_VERSION, sequence $sequence)"
  changed
  wait_endorsable
}

# Peers learn about each other through gossip; until then the gateway cannot satisfy the policy.
wait_endorsable() {
  local h
  for h in "${PHR_HOSPITALS[@]}"; do
    NODE_OPTIONS=--no-deprecation node "$PHR_ROOT/network/dist/ledger-cli.js" --org "$h" --identity gateway ready 90 \
      >>"$(log_file "ready.$h")" 2>&1 || die "peer0.$h cannot gather endorsements for $PHR_ENDORSEMENT_POLICY; see $(log_file "ready.$h")"
  done
  done_ "every hospital's peer can gather a majority of endorsements"
}

start_gateways() {
  phase "FHIR gateways (mutual TLS)"
  local h url
  for h in "${PHR_HOSPITALS[@]}"; do
    node "$PHR_ROOT/network/dist/cli.js" gateway-config --topology "$PHR_TOPOLOGY" --state "$PHR_STATE" --hospital "$h" >/dev/null
    ensure_started "gateway.$h" gateway.sh "$h"
  done
  for h in "${PHR_HOSPITALS[@]}"; do
    url="https://$(v "HOSPITAL_${h}_GW_HOST"):$(v "HOSPITAL_${h}_GW_PORT")"
    wait_https "gateway.$h" "$url/healthz" "$(ca_cert "$h")" 60
    done_ "gateway.$h healthy at $url/fhir"
  done
  local profile
  profile="$(node "$PHR_ROOT/network/dist/cli.js" agent-profile --topology "$PHR_TOPOLOGY" --state "$PHR_STATE")"
  done_ "patients' agents join with: phr-agent init --profile $profile"
}

summary() {
  phase "Endpoints"
  node "$PHR_ROOT/network/dist/cli.js" endpoints --topology "$PHR_TOPOLOGY" | sed 's/^/    /'
  step "state, logs and crypto material: $PHR_STATE"
  if ((CHANGED)); then
    printf '%sNetwork is up.%s\n' "$GREEN" "$RESET"
  else
    printf '%sNetwork was already up; nothing changed.%s\n' "$GREEN" "$RESET"
  fi
}

all_process_names() {
  local h n org
  for h in "${PHR_HOSPITALS[@]}"; do echo "gateway.$h"; done
  for h in "${PHR_HOSPITALS[@]}"; do echo "chaincode.$h"; done
  for h in "${PHR_HOSPITALS[@]}"; do echo "peer0.$h"; done
  for n in "${PHR_ORDERERS[@]}"; do echo "$n"; done
  for org in "${PHR_CA_ORGS[@]}"; do echo "ca.$org"; done
}

engine_version() {
  if [[ "$PHR_ENGINE" == embedded ]]; then
    node "$PHR_EMBEDDED/cli.js" version
  else
    printf 'Hyperledger Fabric %s, Fabric CA %s (%s)' \
      "$(peer version 2>/dev/null | sed -n 's/^ Version: //p')" \
      "$(fabric-ca-server version 2>/dev/null | sed -n 's/^ *Version: //p')" "$FABRIC_BIN"
  fi
}

cmd_up() {
  load_topology
  "$SCRIPTS/engine.sh"
  load_engine
  phase "Engine: $PHR_ENGINE — $(engine_version)"
  start_cas
  enroll_all
  genesis_block
  start_orderers
  start_peers
  deploy_chaincode
  start_gateways
  summary
}

cmd_down() {
  [[ -f "$PHR_STATE/topology.env" ]] || { echo "No network state in $PHR_STATE; nothing to stop."; return; }
  source "$PHR_STATE/topology.env"
  phase "Stopping processes (ledgers are kept)"
  local name stopped=0
  while read -r name; do
    if is_running "$name"; then stop_process "$name"; step "stopped $name"; stopped=1; else rm -f "$(pid_file "$name")"; fi
  done < <(all_process_names)
  ((stopped)) || skip "nothing was running"
}

cmd_clean() {
  cmd_down
  phase "Removing $PHR_STATE"
  rm -rf "$PHR_STATE"
  done_ "network state wiped"
}

cmd_status() {
  [[ -f "$PHR_STATE/topology.env" && -f "$PHR_STATE/engine.env" ]] || { echo "No network state in $PHR_STATE."; exit 1; }
  source "$PHR_STATE/topology.env"
  load_engine
  printf 'engine: %s — %s\n' "$PHR_ENGINE" "$(engine_version)"
  local name down=0 used
  used=" $(orderer_nodes | tr '\n' ' ') "
  while read -r name; do
    if [[ " ${PHR_ORDERERS[*]} " == *" $name "* && "$used" != *" $name "* ]]; then
      printf '  %-28s not run by the embedded network (one orderer)\n' "$name"
    elif is_running "$name"; then
      printf '  %-28s running (pid %s)\n' "$name" "$(cat "$(pid_file "$name")")"
    else
      printf '  %-28s stopped\n' "$name"
      down=1
    fi
  done < <(all_process_names)
  return "$down"
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  clean) cmd_clean ;;
  status) cmd_status ;;
  *) die "usage: network.sh up|down|clean|status" ;;
esac
