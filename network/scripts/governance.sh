# shellcheck shell=bash
# Channel governance, sourced by network.sh. Every change to the channel's membership goes through a
# configuration update that a majority of the member hospitals' admins sign, each in its own step,
# and that the orderer checks against the channel's policies before it becomes a config block:
#   join HOSPITAL            (the new hospital's IT) CA, identities, join request; once admitted: its nodes
#   approve HOSPITAL AS      (a member's admin) signs the update admitting HOSPITAL and submits what is gathered
#   suspend HOSPITAL AS      (a member's admin) signs the update revoking HOSPITAL's gateway certificate
# On Fabric the steps are Fabric's own commands (peer channel fetch / signconfigtx / update,
# configtxgen -printOrg, configtxlator compute_update); on the embedded network, phr-governance.
# Each change keeps its files and an audit log in $PHR_STATE/governance/<change>/.

governance() { node --no-deprecation "$PHR_ROOT/network/dist/governance-cli.js" "$@"; }
gov_dir() { printf '%s/governance/%s' "$PHR_STATE" "$1"; }
gov_log() { printf '%s %s\n' "$(date -u +%FT%TZ)" "$2" >>"$(gov_dir "$1")/audit.log"; }
msp_of() { v "HOSPITAL_${1}_MSP"; }
is_member() { [[ " ${PHR_MEMBERS[*]} " == *" $1 "* ]]; }
is_local() { [[ " ${PHR_LOCAL[*]} " == *" $1 "* ]]; }

# hospital_named MSPID: the topology's name for a hospital's MSP id (empty when it has none).
hospital_named() {
  local h
  for h in "${PHR_HOSPITALS[@]}"; do [[ "$(msp_of "$h")" == "$1" ]] && { echo "$h"; return; }; done
}

# --- one config transaction, engine by engine -------------------------------------------------

# cfg_fetch ORG OUT [config|newest|N]: a block from the orderer as ORG's admin. Exit 3: ORG is not a
# member. Orderers that have just started (Raft electing its leader) are asked again for a minute.
cfg_fetch() {
  local org="$1" out="$2" which="${3:-config}" rc i tmp
  tmp="$(mktemp)"
  for ((i = 0; i < 60; i++)); do
    rc=0
    if [[ "$PHR_ENGINE" == embedded ]]; then
      governance config fetch --org "$org" --out "$out" --block "$which" >"$tmp" 2>&1 || rc=$?
    else
      local ord
      mapfile -t ord < <(orderer_args)
      peer_cli "$org" channel fetch "$which" "$out" -c "$PHR_CHANNEL" "${ord[@]}" >"$tmp" 2>&1 || rc=$?
      if ((rc)) && grep -q FORBIDDEN "$tmp"; then rc=3; fi
    fi
    cat "$tmp" >>"$(log_file governance)"
    if ((rc == 0 || rc == 3)) || ! grep -qi "SERVICE_UNAVAILABLE\|UNAVAILABLE\|cannot be reached\|connection refused" "$tmp"; then
      break
    fi
    sleep 1
  done
  rm -f "$tmp"
  return "$rc"
}

# cfg_org_group HOSPITAL CONFIGTX_DIR CONFIG_BLOCK OUT: the organisation's config group as
# `configtxgen -printOrg` prints it. On Fabric, as its documentation does: the printed organisation is
# spliced into the channel's configuration (decoded by configtxlator) and encoded back, since its
# values (AnchorPeers, MSP) only decode in the channel's context.
cfg_org_group() {
  local h="$1" dir="$2" block="$3" out="$4"
  if [[ "$PHR_ENGINE" == embedded ]]; then
    governance config org-group --configtx "$dir/configtx.yaml" --msp "$(msp_of "$h")" --out "$out"
    return
  fi
  FABRIC_LOGGING_SPEC=error configtxgen -configPath "$dir" -printOrg "$(msp_of "$h")" >"$dir/org.json" 2>>"$(log_file governance)" &&
    configtxlator proto_decode --input "$block" --type common.Block --output "$dir/block.json" &&
    node -e '
      const fs = require("fs");
      const [blockFile, orgFile, msp, out] = process.argv.slice(1);
      const config = JSON.parse(fs.readFileSync(blockFile, "utf8")).data.data[0].payload.data.config;
      config.channel_group.groups.Application.groups[msp] = JSON.parse(fs.readFileSync(orgFile, "utf8"));
      fs.writeFileSync(out, JSON.stringify(config));
    ' "$dir/block.json" "$dir/org.json" "$(msp_of "$h")" "$dir/with-org.json" &&
    configtxlator proto_encode --input "$dir/with-org.json" --type common.Config --output "$dir/with-org.pb" &&
    governance config extract-group --config "$dir/with-org.pb" --msp "$(msp_of "$h")" --out "$out"
}

# cfg_compute ORIGINAL UPDATED OUT: the ConfigUpdate between two configurations.
cfg_compute() {
  if [[ "$PHR_ENGINE" == embedded ]]; then
    governance config compute-update --original "$1" --updated "$2" --out "$3"
  else
    configtxlator compute_update --channel_id "$PHR_CHANNEL" --original "$1" --updated "$2" --output "$3"
  fi
}

# cfg_sign ORG ENVELOPE: ORG's admin appends its signature.
cfg_sign() {
  if [[ "$PHR_ENGINE" == embedded ]]; then
    governance config sign --org "$1" --envelope "$2"
  else
    peer_cli "$1" channel signconfigtx -f "$2" >>"$(log_file governance)" 2>&1
  fi
}

# cfg_submit ORG ENVELOPE: sends the update as ORG's admin. Prints the orderer's refusal; exit 4 when refused.
cfg_submit() {
  local rc=0 out
  if [[ "$PHR_ENGINE" == embedded ]]; then
    out="$(governance config submit --org "$1" --envelope "$2" 2>&1)" || rc=$?
  else
    local ord
    mapfile -t ord < <(orderer_args)
    out="$(peer_cli "$1" channel update -f "$2" -c "$PHR_CHANNEL" "${ord[@]}" 2>&1)" || rc=$?
    ((rc)) && [[ "$out" == *"unexpected status"* ]] && rc=4
  fi
  printf '%s\n' "$out" >>"$(log_file governance)"
  if ((rc)); then
    # The orderer's own words, without the tools' prefixes.
    printf '%s\n' "$out" | sed -n 's/.*got unexpected status: \(.*\)$/\1/p' | tail -n 1
  fi
  return "$rc"
}

# --- a change: prepared once from the current configuration, signed one admin at a time --------

# prepare_change NAME ORG EDIT_ARGS...: (re)computes the update of change NAME from the channel's
# current configuration as ORG's admin; keeps the signatures gathered when nothing changed since.
prepare_change() {
  local name="$1" org="$2" dir
  shift 2
  dir="$(gov_dir "$name")"
  mkdir -p "$dir"
  cfg_fetch "$org" "$dir/current.block" || die "could not read the channel configuration as $org's admin; see $(log_file governance)"
  if [[ -f "$dir/envelope.pb" && -f "$dir/config.block" ]] && cmp -s "$dir/current.block" "$dir/config.block"; then
    return 0
  fi
  if [[ -f "$dir/envelope.pb" ]]; then
    local was
    was="$(governance config signers --envelope "$dir/envelope.pb" | paste -sd, -)"
    step "the channel configuration changed since this update was prepared: prepared again${was:+; approvals to give again: $was}"
    gov_log "$name" "prepared again on a newer configuration (earlier approvals void: ${was:-none})"
  fi
  mv "$dir/current.block" "$dir/config.block"
  governance config edit --block "$dir/config.block" --original "$dir/original.pb" --updated "$dir/updated.pb" "$@" ||
    die "the configuration change $name could not be made"
  cfg_compute "$dir/original.pb" "$dir/updated.pb" "$dir/update.pb" || die "the update of $name could not be computed"
  governance config envelope --update "$dir/update.pb" --out "$dir/envelope.pb"
  gov_log "$name" "prepared by $org from the configuration in $(basename "$dir")/config.block"
}

# tally NAME: "approved by A, B (k of n needed: a majority of the N member hospitals' admins)"
tally() {
  local dir signers members n need
  dir="$(gov_dir "$1")"
  signers="$(governance config signers --envelope "$dir/envelope.pb" | sort -u | paste -sd, - | sed 's/,/, /g')"
  members="$(governance config members --block "$dir/config.block")"
  n="$(printf '%s\n' "$members" | grep -c .)"
  need=$((n / 2 + 1))
  printf 'approved by %s; a majority of the %s member hospitals (%s) must approve: %s' \
    "${signers:-nobody yet}" "$n" "$(printf '%s\n' "$members" | paste -sd, - | sed 's/,/, /g')" "$need"
}

# missing NAME: the member hospitals whose admins have not signed yet.
missing() {
  local dir m out=()
  dir="$(gov_dir "$1")"
  local signed
  signed=" $(governance config signers --envelope "$dir/envelope.pb" | paste -sd' ' -) "
  while read -r m; do
    [[ -n "$m" && "$signed" != *" $m "* ]] && out+=("$(hospital_named "$m")")
  done < <(governance config members --block "$dir/config.block")
  printf '%s' "${out[*]}"
}

# sign_and_submit NAME AS: AS's admin signs (once) and submits what is gathered; the orderer decides.
# Returns 0 when the update is in the chain, 4 when the orderer refused it (its reason is printed).
sign_and_submit() {
  local name="$1" as="$2" dir reason rc=0
  dir="$(gov_dir "$name")"
  if governance config signers --envelope "$dir/envelope.pb" | grep -qx "$(msp_of "$as")"; then
    skip "$as has approved already"
  else
    cfg_sign "$as" "$dir/envelope.pb" || die "$as could not sign; see $(log_file governance)"
    gov_log "$name" "approved by $as ($(msp_of "$as") admin)"
    done_ "approved by $as"
  fi
  reason="$(cfg_submit "$as" "$dir/envelope.pb")" || rc=$?
  if ((rc == 0)); then
    gov_log "$name" "submitted by $as with $(tally "$name"); accepted by the orderer"
    return 0
  fi
  ((rc == 4)) || die "the update could not be submitted; see $(log_file governance)"
  gov_log "$name" "submitted by $as with $(tally "$name"); refused: $reason"
  printf '%s\n' "$reason" >"$dir/refusal"
  step "the orderer refused the update: $reason"
  return 4
}

# wait_config ORG PREDICATE...: until the channel's config, as ORG's admin reads it, satisfies the command.
wait_config() {
  local org="$1" i tmp
  shift
  tmp="$(mktemp)"
  for ((i = 0; i < 120; i++)); do
    if cfg_fetch "$org" "$tmp" config 2>/dev/null && "$@" "$tmp"; then
      rm -f "$tmp"
      return 0
    fi
    sleep 0.5
  done
  rm -f "$tmp"
  return 1
}

# --- the members govern every hospital's definition ---------------------------------------------

has_msp() { governance config members --block "$2" | grep -qx "$1"; }
governed() { governance config governed --block "$1"; }

# After genesis: configtxgen leaves each organisation's MSP to its own admins. The founders hand it to
# the members' majority, so that no hospital alone changes its trust roots or lifts its suspension.
govern_by_members() {
  local first="${PHR_LOCAL[0]}" h dir
  dir="$(gov_dir members-governance)"
  mkdir -p "$dir"
  cfg_fetch "$first" "$dir/current.block" || die "could not read the channel configuration; see $(log_file governance)"
  if governed "$dir/current.block"; then
    skip "each hospital's definition is governed by a majority of the members"
    return
  fi
  prepare_change members-governance "$first" --govern
  # The founders all run here: each one's admin signs, since each organisation is its own until now.
  for h in "${PHR_MEMBERS[@]}"; do
    is_local "$h" || die "founder $h does not run here; the members-governance update needs its signature"
    governance config signers --envelope "$dir/envelope.pb" | grep -qx "$(msp_of "$h")" ||
      { cfg_sign "$h" "$dir/envelope.pb" && gov_log members-governance "approved by $h"; }
  done
  local reason
  reason="$(cfg_submit "$first" "$dir/envelope.pb")" || die "the members-governance update was refused: $reason"
  wait_config "$first" governed || die "the members-governance update did not reach the channel"
  gov_log members-governance "in the channel"
  done_ "each hospital's definition is now governed by a majority of the members"
  changed
}

# --- joining ---------------------------------------------------------------------------------

# The request a joining hospital sends the members: its organisation as configtx.yaml describes it,
# with its public MSP (CA and TLS CA certificates, NodeOUs). No secret.
write_join_request() {
  local h="$1" dir
  dir="$(gov_dir "join-$h")/request"
  mkdir -p "$dir/msp"
  cp -r "$(org_dir "$h")/msp/." "$dir/msp/"
  # MSPDir relative to the file: configtxgen resolves it so, wherever the request is unpacked.
  node "$PHR_ROOT/network/dist/cli.js" org-configtx --topology "$PHR_TOPOLOGY" --hospital "$h" --msp-dir msp \
    >"$dir/configtx.yaml"
  tar -C "$dir" -czf "$(gov_dir "join-$h")/join-request-$h.tgz" configtx.yaml msp
}

# join_status H: where the join of H stands, from the files this state folder holds.
join_status() {
  local h="$1" dir
  dir="$(gov_dir "join-$h")"
  if [[ -f "$dir/envelope.pb" ]]; then
    step "$(tally "join-$h")"
    [[ -f "$dir/refusal" ]] && step "last refusal by the orderer: $(cat "$dir/refusal")"
    local left
    left="$(missing "join-$h")"
    [[ -n "$left" ]] && step "still to approve: $(for m in $left; do printf 'make network-approve ORG=%s AS=%s  ' "$h" "$m"; done)"
  else
    step "no member has approved yet; each member's admin runs: make network-approve ORG=$h AS=<member>"
  fi
}

cmd_join() {
  local h="$1"
  [[ -n "${KIT:-}" ]] && import_kit "$KIT"
  PHR_JOINING="$h"
  load_topology "$h"
  [[ " ${PHR_HOSPITALS[*]} " == *" $h "* ]] || die "$h is not described in $PHR_TOPOLOGY (name, mspId, ca, peer, chaincodeServer, gateway)"
  "$SCRIPTS/engine.sh"
  load_engine
  phase "Engine: $PHR_ENGINE — $(engine_version)"
  phase "$h joins channel '$PHR_CHANNEL'"
  start_cas
  enroll_all
  write_join_request "$h"
  done_ "join request: $(gov_dir "join-$h")/join-request-$h.tgz (public: its MSP and anchor peer)"
  local probe="$PHR_STATE/governance/join-$h/probe.block" rc=0
  cfg_fetch "$h" "$probe" config || rc=$?
  rm -f "$probe"
  if ((rc == 3)); then
    printf '%sJoin of %s pending:%s the members have not admitted it yet.\n' "$BOLD" "$h" "$RESET"
    join_status "$h"
    return 0
  fi
  ((rc == 0)) || die "the orderer could not be asked whether $h is a member; see $(log_file governance)"
  done_ "$h is a member of $PHR_CHANNEL"
  node "$PHR_ROOT/network/dist/cli.js" roles --topology "$PHR_TOPOLOGY" --state "$PHR_STATE" --add-member "$h" --add-local "$h" >/dev/null
  cmd_up
}

# keep_member_msp H: a member whose nodes run elsewhere: its public MSP (from its join request) is
# kept where this machine's tools look for every organisation's CA and TLS CA certificates.
keep_member_msp() {
  local h="$1" from
  from="$(gov_dir "join-$h")/request/msp"
  [[ -f "$(org_dir "$h")/msp/cacerts/ca.pem" || ! -d "$from" ]] && return 0
  mkdir -p "$(org_dir "$h")/msp"
  cp -r "$from/." "$(org_dir "$h")/msp/"
}

cmd_approve() {
  local h="$1" as="$2" dir
  load_topology "$h"
  load_engine
  [[ " ${PHR_HOSPITALS[*]} " == *" $h "* ]] || die "$h is not described in $PHR_TOPOLOGY"
  is_local "$as" || die "$as does not run from $PHR_STATE: approve with its admin where its identities are"
  dir="$(gov_dir "join-$h")"
  if [[ -n "${REQUEST:-}" ]]; then
    mkdir -p "$dir/request"
    tar -C "$dir/request" -xzf "$REQUEST"
  fi
  [[ -f "$dir/request/configtx.yaml" ]] ||
    die "no join request from $h: it runs 'make network-up ORG=$h' first (on its own machine: pass its request with REQUEST=file)"
  phase "$as approves the join of $h"
  local current="$dir/current.block"
  mkdir -p "$dir"
  cfg_fetch "$as" "$current" || die "could not read the channel configuration as $as's admin; see $(log_file governance)"
  if has_msp "$(msp_of "$h")" "$current"; then
    done_ "$h is already a member of $PHR_CHANNEL"
    keep_member_msp "$h"
    sync_members
  else
    cfg_org_group "$h" "$dir/request" "$current" "$dir/org-group.pb" || die "the organisation of $h could not be read; see $(log_file governance)"
    prepare_change "join-$h" "$as" --add "$(msp_of "$h")" --org-group "$dir/org-group.pb"
    local rc=0
    sign_and_submit "join-$h" "$as" || rc=$?
    if ((rc == 0)); then
      wait_config "$as" has_msp "$(msp_of "$h")" || die "the update admitting $h did not reach the channel"
      gov_log "join-$h" "$h admitted"
      done_ "$h admitted to $PHR_CHANNEL"
      keep_member_msp "$h"
      sync_members
    else
      printf '%sJoin of %s refused:%s %s\n' "$BOLD" "$h" "$RESET" "$(tally "join-$h")"
      join_status "$h"
    fi
  fi
  # The chaincode definition that counts the new member, approved by this member now.
  approve_definition_for "$as" "$h"
}

# --- suspension --------------------------------------------------------------------------------

# The hospital's CA revokes its gateway's certificates and issues a CRL; the members put the CRL in
# the hospital's MSP by a majority. Every node then refuses the gateway's signatures: its writes
# are refused, while what it committed before stays in the chain and verifiable.
cmd_suspend() {
  local h="$1" as="$2" dir
  load_topology
  load_engine
  sync_members
  is_member "$h" || die "$h is not a member of $PHR_CHANNEL"
  is_local "$as" || die "$as does not run from $PHR_STATE: approve with its admin where its identities are"
  dir="$(gov_dir "suspend-$h")"
  mkdir -p "$dir"
  phase "$as approves the suspension of $h"
  if [[ -n "${CRL:-}" ]]; then
    cp "$CRL" "$dir/crl.pem"
    gov_log "suspend-$h" "CRL of $h's CA received ($(basename "$CRL"))"
  fi
  if [[ ! -s "$dir/crl.pem" ]]; then
    is_local "$h" || die "the CRL must come from $h's own CA (Fabric honours only CRLs their issuer signed):
    on $h's machine, make network-revoke ORG=$h; then here, make network-suspend ORG=$h AS=$as CRL=<the file it wrote>"
    revoke_gateway "$h"
  fi
  local current="$dir/current.block"
  cfg_fetch "$as" "$current" || die "could not read the channel configuration as $as's admin; see $(log_file governance)"
  if governance config has-crl --block "$current" --msp "$(msp_of "$h")" --crl "$dir/crl.pem"; then
    done_ "$h is suspended already: its MSP carries the CRL"
    return
  fi
  prepare_change "suspend-$h" "$as" --revoke "$(msp_of "$h")" --crl "$dir/crl.pem"
  local rc=0
  sign_and_submit "suspend-$h" "$as" || rc=$?
  if ((rc == 0)); then
    wait_config "$as" governance config has-crl --msp "$(msp_of "$h")" --crl "$dir/crl.pem" --block ||
      die "the suspension did not reach the channel"
    gov_log "suspend-$h" "$h suspended"
    done_ "$h suspended: every node refuses its gateway's certificates"
  else
    printf '%sSuspension of %s not in effect yet:%s %s\n' "$BOLD" "$h" "$RESET" "$(tally "suspend-$h")"
  fi
}

# revoke_gateway H: H's CA revokes its gateway's certificates and writes the CRL the members vote on.
revoke_gateway() {
  local h="$1" dir
  dir="$(gov_dir "suspend-$h")"
  mkdir -p "$dir"
  ca_client "$h" revoke --mspdir "$(registrar_msp "$h")" --name gateway --reason privilegewithdrawn --crl-out "$dir/crl.pem" ||
    die "$h's CA could not revoke its gateway's certificates; see $(log_file "ca-client.$h")"
  gov_log "suspend-$h" "the gateway certificates of $h revoked at ca-$h; CRL in crl.pem"
  done_ "ca-$h revoked the gateway's certificates; CRL: $dir/crl.pem"
}

cmd_revoke() {
  local h="$1"
  load_topology
  load_engine
  is_local "$h" || die "$h's CA does not run from $PHR_STATE"
  phase "$h's CA revokes its gateway's certificates"
  revoke_gateway "$h"
  step "the members now approve the suspension: make network-suspend ORG=$h AS=<member> CRL=$(gov_dir "suspend-$h")/crl.pem"
}

# --- the network kit: what a hospital on another machine needs to join -------------------------

# Public material only: the topology, the engine, the channel's members and every organisation's
# MSP (CA and TLS CA certificates), so the joining machine can reach and authenticate the orderers
# and peers. No key, no secret.
cmd_kit() {
  local out="$1" tmp org
  load_topology
  load_engine
  ((PHR_CORE)) || die "the kit comes from the machine that runs the network's core"
  tmp="$(mktemp -d)"
  mkdir -p "$tmp/kit" "$tmp/channel"
  cp "$PHR_TOPOLOGY" "$tmp/kit/topology.yaml"
  printf 'PHR_ENGINE=%q\n' "$PHR_ENGINE" >"$tmp/engine.env"
  cp "$PHR_STATE/channel/members" "$tmp/channel/members"
  for org in orderer patients "${PHR_MEMBERS[@]}"; do
    mkdir -p "$tmp/orgs/$org/ca"
    cp -r "$(org_dir "$org")/msp" "$tmp/orgs/$org/msp"
    cp "$(org_dir "$org")/ca/ca-cert.pem" "$tmp/orgs/$org/ca/ca-cert.pem"
  done
  printf 'KIT_CHANNEL=%q\nKIT_MADE=%q\n' "$PHR_CHANNEL" "$(date -u +%FT%TZ)" >"$tmp/kit/kit.env"
  tar -C "$tmp" -czf "$out" kit engine.env channel orgs
  rm -rf "$tmp"
  done_ "network kit: $out (public certificates, topology and members; no key)"
}

import_kit() {
  local kit="$1"
  [[ -f "$kit" ]] || die "no network kit at $kit"
  if [[ -f "$PHR_STATE/channel/genesis.block" && ! -f "$PHR_STATE/kit/kit.env" ]]; then
    die "$PHR_STATE runs a network's core already; a kit is for a machine that joins one"
  fi
  mkdir -p "$PHR_STATE"
  tar -C "$PHR_STATE" -xzf "$kit"
  done_ "network kit imported into $PHR_STATE"
}
