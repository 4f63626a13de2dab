#!/usr/bin/env bash
# Runs the PHR Ledger network: `network.sh up | down | clean | status | join H | approve H AS |
# suspend H AS | kit FILE`. The engine is real Fabric
# when its binaries can be had and the embedded network otherwise (engine.sh; PHR_ENGINE forces one).
# Everything it generates (crypto material, ledgers, logs, pids) lives in $PHR_STATE.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$PHR_ROOT/network/scripts/identities.sh"
source "$PHR_ROOT/network/scripts/governance.sh"
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
  local with=()
  [[ -n "${PHR_JOINING:-}" ]] && with=(--with "$PHR_JOINING")
  out="$(node "$PHR_ROOT/network/dist/cli.js" identities --topology "$PHR_TOPOLOGY" --state "$PHR_STATE" "${with[@]}" \
    2>>"$(log_file identities)")" ||
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
  if ((!PHR_CORE)); then
    skip "the channel runs on the network's core machine; this machine's hospitals join it"
    return
  fi
  if [[ -f "$block" ]]; then
    skip "genesis block exists"
    # Networks made before membership was recorded: every hospital of the topology founded it.
    [[ -f "$PHR_STATE/channel/members" ]] || record_roles
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
  record_roles
  done_ "founding members: ${PHR_MEMBERS[*]}"
  changed
}

# Writes the channel's members and the hospitals run here (as topology.env has them) and reloads.
record_roles() {
  node "$PHR_ROOT/network/dist/cli.js" roles --topology "$PHR_TOPOLOGY" --state "$PHR_STATE" >/dev/null
  load_topology
}

# The channel's members as its configuration lists them (a hospital may have joined from another
# machine, or through another member's approval): the members file follows the channel.
sync_members() {
  local first="${PHR_LOCAL[0]:-}" block="$PHR_STATE/channel/config.block" msps
  [[ -n "$first" ]] || return 0
  cfg_fetch "$first" "$block" config || die "could not read the channel configuration as $first's admin; see $(log_file governance)"
  msps="$(governance config members --block "$block" | paste -sd, -)"
  local err
  err="$(node "$PHR_ROOT/network/dist/cli.js" roles --topology "$PHR_TOPOLOGY" --state "$PHR_STATE" --members-msp "$msps" 2>&1 >/dev/null)" ||
    die "${err#phr-topology: }"
  load_topology
}

# The orderer nodes this engine runs: every node of the topology on Fabric (Raft), the first on the
# embedded network (one orderer, no consensus protocol).
orderer_nodes() {
  if [[ "$PHR_ENGINE" == embedded ]]; then echo "${PHR_ORDERERS[0]}"; else printf '%s\n' "${PHR_ORDERERS[@]}"; fi
}

start_orderers() {
  local n
  ((PHR_CORE)) || return 0
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
  if [[ ! -f "$PHR_STATE/channel/genesis.block" ]]; then
    # A hospital that joined from another machine takes the channel's first block from the orderer.
    mkdir -p "$PHR_STATE/channel"
    cfg_fetch "${PHR_LOCAL[0]}" "$PHR_STATE/channel/genesis.block" 0 ||
      die "could not fetch the channel's genesis block from the orderer; see $(log_file governance)"
    done_ "genesis block fetched from the orderer"
  fi
  for h in "${PHR_LOCAL[@]}"; do ensure_started "peer0.$h" peer.sh "$h"; done
  for h in "${PHR_LOCAL[@]}"; do
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
  for h in "${PHR_LOCAL[@]}"; do
    package_chaincode "$h" && { step "packaged for $h"; changed; }
    install_chaincode "$h"
    ensure_started "chaincode.$h" chaincode.sh "$h"
  done
  define_chaincode
}

install_chaincode() {
  local h="$1" id
  if [[ "$PHR_ENGINE" == embedded ]]; then
    local data="$PHR_STATE/nodes/peer0.$h"
    id="$(node "$PHR_EMBEDDED/cli.js" package-id "$PHR_STATE/chaincode/$h/package.tar.gz")"
    echo "$id" >"$PHR_STATE/chaincode/$h/package-id"
    if [[ -f "$data/lifecycle/packages/${id/:/.}.tar.gz" ]]; then
      skip "installed on peer0.$h"
      return
    fi
    node "$PHR_EMBEDDED/cli.js" install --peer-data "$data" --package "$PHR_STATE/chaincode/$h/package.tar.gz" >/dev/null
  else
    id="$(peer_cli "$h" lifecycle chaincode calculatepackageid "$PHR_STATE/chaincode/$h/package.tar.gz")"
    echo "$id" >"$PHR_STATE/chaincode/$h/package-id"
    if peer_cli "$h" lifecycle chaincode queryinstalled 2>/dev/null | grep -q "Package ID: $id,"; then
      skip "installed on peer0.$h"
      return
    fi
    peer_cli "$h" lifecycle chaincode install "$PHR_STATE/chaincode/$h/package.tar.gz" >>"$(log_file "peer-cli.$h")" 2>&1 ||
      die "install on peer0.$h failed; see $(log_file "peer-cli.$h")"
  fi
  step "installed on peer0.$h"
  changed
}

# The chaincode lifecycle, engine by engine: Fabric's `peer lifecycle chaincode`, or the embedded
# peers' `_lifecycle` through phr-governance. Terms: sequence and endorsement policy (name and
# version are the topology's).

# committed_definition ORG: "SEQUENCE POLICY_IS_CURRENT" of the committed definition ("0 0" when none).
committed_definition() {
  local org="$1" json same=0 tmp
  if [[ "$PHR_ENGINE" == embedded ]]; then
    json="$(governance lifecycle query --org "$org" --name "$PHR_CC_NAME" 2>/dev/null)" || { echo "0 0"; return; }
    governance lifecycle same-policy --policy "$PHR_ENDORSEMENT_POLICY" \
      --text "$(node -pe 'JSON.parse(process.argv[1]).endorsementPolicy' "$json")" && same=1
  else
    tmp="$(mktemp)"
    peer_cli "$org" lifecycle chaincode querycommitted -C "$PHR_CHANNEL" -n "$PHR_CC_NAME" -O json >"$tmp" 2>/dev/null ||
      { rm -f "$tmp"; echo "0 0"; return; }
    json="$(cat "$tmp")"
    governance lifecycle same-policy --policy "$PHR_ENDORSEMENT_POLICY" --committed-json "$tmp" && same=1
    rm -f "$tmp"
  fi
  printf '%s %s\n' "$(node -pe 'JSON.parse(process.argv[1]).sequence' "$json")" "$same"
}

# approvals ORG SEQUENCE: the MSP ids that approved these terms, one per line.
approvals() {
  local org="$1" seq="$2" json
  if [[ "$PHR_ENGINE" == embedded ]]; then
    json="$(governance lifecycle readiness --org "$org" --name "$PHR_CC_NAME" --version "$PHR_CC_VERSION" \
      --sequence "$seq" --policy "$PHR_ENDORSEMENT_POLICY" 2>>"$(log_file lifecycle)")" || return 1
  else
    json="$(peer_cli "$org" lifecycle chaincode checkcommitreadiness -C "$PHR_CHANNEL" -n "$PHR_CC_NAME" -v "$PHR_CC_VERSION" \
      --sequence "$seq" --signature-policy "$PHR_ENDORSEMENT_POLICY" -O json 2>>"$(log_file lifecycle)")" || return 1
  fi
  node -e 'const j = JSON.parse(process.argv[1]); const a = j.approvals ?? j;
    for (const [m, ok] of Object.entries(a)) if (ok) console.log(m);' "$json"
}

# committed_approvals ORG SEQUENCE: the MSP ids that approved the committed definition (Fabric's
# querycommitted lists them; its checkcommitreadiness only looks at the next sequence).
committed_approvals() {
  local org="$1" seq="$2" json
  if [[ "$PHR_ENGINE" == embedded ]]; then
    approvals "$org" "$seq"
    return
  fi
  json="$(peer_cli "$org" lifecycle chaincode querycommitted -C "$PHR_CHANNEL" -n "$PHR_CC_NAME" -O json 2>>"$(log_file lifecycle)")" || return 1
  node -e 'for (const [m, ok] of Object.entries(JSON.parse(process.argv[1]).approvals ?? {})) if (ok) console.log(m);' "$json"
}

# approve_definition ORG SEQUENCE: ORG's admin approves the terms with ORG's own package.
approve_definition() {
  local org="$1" seq="$2" id
  id="$(cat "$PHR_STATE/chaincode/$org/package-id")"
  if [[ "$PHR_ENGINE" == embedded ]]; then
    governance lifecycle approve --org "$org" --name "$PHR_CC_NAME" --version "$PHR_CC_VERSION" --sequence "$seq" \
      --policy "$PHR_ENDORSEMENT_POLICY" --package-id "$id" >>"$(log_file lifecycle)" 2>&1
  else
    local ord
    mapfile -t ord < <(orderer_args)
    peer_cli "$org" lifecycle chaincode approveformyorg "${ord[@]}" -C "$PHR_CHANNEL" -n "$PHR_CC_NAME" -v "$PHR_CC_VERSION" \
      --package-id "$id" --sequence "$seq" --signature-policy "$PHR_ENDORSEMENT_POLICY" --waitForEvent \
      >>"$(log_file lifecycle)" 2>&1
  fi
}

# commit_definition ORG SEQUENCE: commits the terms, endorsed by the members' peers.
commit_definition() {
  local org="$1" seq="$2"
  if [[ "$PHR_ENGINE" == embedded ]]; then
    governance lifecycle commit --org "$org" --name "$PHR_CC_NAME" --version "$PHR_CC_VERSION" --sequence "$seq" \
      --policy "$PHR_ENDORSEMENT_POLICY" >>"$(log_file lifecycle)" 2>&1
  else
    local ord peers=() h
    mapfile -t ord < <(orderer_args)
    for h in "${PHR_MEMBERS[@]}"; do
      peers+=(--peerAddresses "$(v "HOSPITAL_${h}_PEER_HOST"):$(v "HOSPITAL_${h}_PEER_PORT")" --tlsRootCertFiles "$(ca_cert "$h")")
    done
    peer_cli "$org" lifecycle chaincode commit "${ord[@]}" -C "$PHR_CHANNEL" -n "$PHR_CC_NAME" -v "$PHR_CC_VERSION" \
      --sequence "$seq" --signature-policy "$PHR_ENDORSEMENT_POLICY" "${peers[@]}" --waitForEvent >>"$(log_file lifecycle)" 2>&1
  fi
}

# approve_definition_for AS JOINING: AS approves the definition that counts JOINING among the members.
approve_definition_for() {
  local as="$1" joining="$2" seq same
  phase "Chaincode definition for the members with $joining (endorsement: $PHR_ENDORSEMENT_POLICY)"
  read -r seq same < <(committed_definition "$as")
  if ((same)); then
    done_ "committed already (sequence $seq)"
    return
  fi
  seq=$((seq + 1))
  if approvals "$as" "$seq" | grep -qx "$(msp_of "$as")"; then
    skip "$as has approved sequence $seq already"
  else
    approve_definition "$as" "$seq" || die "approval by $as failed; see $(log_file lifecycle)"
    done_ "approved by $as (sequence $seq); $joining commits it once it has joined"
  fi
}

# The definition whose policy is a majority of the current members: committed when it is, otherwise
# approved by this machine's members and committed once a majority of the members approved it.
define_chaincode() {
  local first="${PHR_LOCAL[0]}" seq same h approved need
  read -r seq same < <(committed_definition "$first")
  if ((same)); then
    done_ "definition committed (version $PHR_CC_VERSION, sequence $seq)"
    # A member that did not approve it (the others committed without it) approves it now: until
    # then its peers run no package for it (Fabric's rule), so they cannot endorse.
    approved=" $(committed_approvals "$first" "$seq" | paste -sd' ' -) " ||
      die "could not read the approvals of $PHR_CC_NAME; see $(log_file lifecycle)"
    for h in "${PHR_LOCAL[@]}"; do
      [[ "$approved" == *" $(msp_of "$h") "* ]] && continue
      approve_definition "$h" "$seq" || die "approval by $h failed; see $(log_file lifecycle)"
      done_ "approved by $h (the committed sequence $seq), so that its peer endorses"
      changed
    done
    wait_endorsable
    return
  fi
  seq=$((seq + 1))
  approved=" $(approvals "$first" "$seq" | paste -sd' ' -) " || die "could not read the approvals of $PHR_CC_NAME; see $(log_file lifecycle)"
  for h in "${PHR_LOCAL[@]}"; do
    if [[ "$approved" == *" $(msp_of "$h") "* ]]; then
      skip "$h already approved sequence $seq"
      continue
    fi
    approve_definition "$h" "$seq" || die "approval by $h failed; see $(log_file lifecycle)"
    step "approved by $h (sequence $seq)"
    changed
  done
  approved="$(approvals "$first" "$seq" | grep -c . || true)"
  need=$((${#PHR_MEMBERS[@]} / 2 + 1))
  if ((approved < need)); then
    local waiting=()
    for h in "${PHR_MEMBERS[@]}"; do is_local "$h" || waiting+=("$h"); done
    die "the definition (sequence $seq) has $approved of the $need approvals it needs; waiting for: ${waiting[*]}"
  fi
  commit_definition "$first" "$seq" || die "commit of the chaincode definition failed; see $(log_file lifecycle)"
  done_ "definition committed (version $PHR_CC_VERSION, sequence $seq, endorsement $PHR_ENDORSEMENT_POLICY)"
  changed
  wait_endorsable
}

# Peers learn about each other through gossip; until then the gateway cannot satisfy the policy.
wait_endorsable() {
  local h
  for h in "${PHR_LOCAL[@]}"; do
    NODE_OPTIONS=--no-deprecation node "$PHR_ROOT/network/dist/ledger-cli.js" --org "$h" --identity gateway ready 90 \
      >>"$(log_file "ready.$h")" 2>&1 || die "peer0.$h cannot gather endorsements for $PHR_ENDORSEMENT_POLICY; see $(log_file "ready.$h")"
  done
  done_ "every hospital's peer here can gather a majority of endorsements"
}

start_gateways() {
  phase "FHIR gateways (mutual TLS)"
  local h url
  for h in "${PHR_LOCAL[@]}"; do
    node "$PHR_ROOT/network/dist/cli.js" gateway-config --topology "$PHR_TOPOLOGY" --state "$PHR_STATE" --hospital "$h" >/dev/null
    ensure_started "gateway.$h" gateway.sh "$h"
  done
  for h in "${PHR_LOCAL[@]}"; do
    url="https://$(v "HOSPITAL_${h}_GW_HOST"):$(v "HOSPITAL_${h}_GW_PORT")"
    wait_https "gateway.$h" "$url/healthz" "$(ca_cert "$h")" 60
    done_ "gateway.$h healthy at $url/fhir"
    register_hospital "$h" "$url"
  done
  if ((PHR_CORE)); then
    local profile
    profile="$(node "$PHR_ROOT/network/dist/cli.js" agent-profile --topology "$PHR_TOPOLOGY" --state "$PHR_STATE")"
    done_ "patients' agents join with: phr-agent init --profile $profile"
  fi
}

# The hospital's entry in the ledger's directory (Directory.RegisterHospital, by its admin): where
# its gateway is and the CA that authenticates it, so patients' agents find a hospital that joins.
register_hospital() {
  local h="$1" url="$2" want have
  want="$url"
  have="$(NODE_OPTIONS=--no-deprecation node "$PHR_ROOT/network/dist/ledger-cli.js" --org "$h" --identity orgadmin \
    evaluate Directory:ReadHospital "$(msp_of "$h")" 2>/dev/null | node -e '
      let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
        try { process.stdout.write(JSON.parse(s).gatewayUrl ?? ""); } catch { process.stdout.write(""); } });')" || true
  if [[ "$have" == "$want"* && -n "$have" ]]; then
    skip "$h is in the ledger's directory"
    return
  fi
  NODE_OPTIONS=--no-deprecation node "$PHR_ROOT/network/dist/ledger-cli.js" --org "$h" --identity orgadmin -- \
    submit Directory:RegisterHospital "$(v "HOSPITAL_${h}_DISPLAY")" "$url" \
    "$(cat "$(id_dir "$h" gateway)/msp/signcerts/cert.pem")" "$(cat "$(ca_cert "$h")")" >>"$(log_file "directory.$h")" 2>&1 ||
    die "$h could not register in the ledger's directory; see $(log_file "directory.$h")"
  done_ "$h registered in the ledger's directory"
  changed
}

summary() {
  phase "Endpoints"
  node "$PHR_ROOT/network/dist/cli.js" endpoints --topology "$PHR_TOPOLOGY" | sed 's/^/    /'
  step "state, logs and crypto material: $PHR_STATE"
  local h outside=()
  for h in "${PHR_HOSPITALS[@]}"; do is_member "$h" || outside+=("$h"); done
  ((${#outside[@]} == 0)) || step "described but not members: ${outside[*]} (each joins with: make network-up ORG=<name>)"
  if ((CHANGED)); then
    printf '%sNetwork is up.%s\n' "$GREEN" "$RESET"
  else
    printf '%sNetwork was already up; nothing changed.%s\n' "$GREEN" "$RESET"
  fi
}

# The processes this state folder runs: its hospitals' nodes, and the core's where it runs here.
all_process_names() {
  local h n org
  for h in "${PHR_LOCAL[@]}"; do echo "gateway.$h"; done
  for h in "${PHR_LOCAL[@]}"; do echo "chaincode.$h"; done
  for h in "${PHR_LOCAL[@]}"; do echo "peer0.$h"; done
  if ((PHR_CORE)); then for n in "${PHR_ORDERERS[@]}"; do echo "$n"; done; fi
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
  if ((${#PHR_LOCAL[@]} == 0)); then
    summary
    return
  fi
  ((PHR_CORE)) && govern_by_members
  sync_members
  start_peers
  deploy_chaincode
  start_gateways
  summary
}

cmd_down() {
  [[ -f "$PHR_STATE/topology.env" ]] || { echo "No network state in $PHR_STATE; nothing to stop."; return; }
  source "$PHR_STATE/topology.env"
  phase "Stopping processes (ledgers are kept)"
  local name stopped=0 f
  # Everything this state folder started, whatever the topology says now (a join may be half done).
  for f in "$PHR_STATE"/pids/*.pid; do
    [[ -e "$f" ]] || continue
    name="$(basename "$f" .pid)"
    if is_running "$name"; then stop_process "$name"; step "stopped $name"; stopped=1; else rm -f "$f"; fi
  done
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

USAGE="usage: network.sh up | down | clean | status | join HOSPITAL | approve HOSPITAL AS_MEMBER |
       suspend HOSPITAL AS_MEMBER | revoke HOSPITAL | kit OUT_FILE"
case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  clean) cmd_clean ;;
  status) cmd_status ;;
  join) cmd_join "${2:?$USAGE}" ;;
  approve) cmd_approve "${2:?$USAGE}" "${3:?$USAGE}" ;;
  suspend) cmd_suspend "${2:?$USAGE}" "${3:?$USAGE}" ;;
  revoke) cmd_revoke "${2:?$USAGE}" ;;
  kit) cmd_kit "${2:?$USAGE}" ;;
  *) die "$USAGE" ;;
esac
