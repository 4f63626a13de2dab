#!/usr/bin/env bash
# The README's example: a patient registers, hospital1 records a delivery commitment, and the
# commitment is read back through hospital2's peer. Safe to run repeatedly.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
LEDGER=("$PHR_ROOT/network/scripts/phr-ledger")
"$PHR_ROOT/network/scripts/enroll.sh" patients demo-patient patient >/dev/null

pseudonym="$("${LEDGER[@]}" --org patients --identity demo-patient evaluate PatientRegistry:WhoAmI |
  node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(JSON.parse(s).pseudonym??""))')"
if [[ -z "$pseudonym" ]]; then
  read -r pseudonym key < <(node -e '
    const { newPseudonym } = require(process.argv[1]);
    const { generateKeyPairSync } = require("node:crypto");
    const pub = generateKeyPairSync("x25519").publicKey.export({ type: "spki", format: "der" }).toString("base64");
    console.log(newPseudonym(), pub);' "$PHR_ROOT/common/dist/index.js")
  phase "Patient registers itself as $pseudonym"
  "${LEDGER[@]}" --org patients --identity demo-patient submit PatientRegistry:Register "$pseudonym" "$key" X25519 >/dev/null
fi

delivery="delivery-$(date +%s)-$RANDOM"
root="$(head -c 32 /dev/urandom | sha256sum | cut -d' ' -f1)"
phase "hospital1 records delivery $delivery for $pseudonym"
"${LEDGER[@]}" --org hospital1 --identity gateway submit Commitments:RecordDelivery "$delivery" "$pseudonym" "$root" 20 3 '["laboratory","vital-signs"]' >/dev/null
phase "Read back through hospital2's peer"
"${LEDGER[@]}" --org hospital2 --identity gateway evaluate Commitments:ReadDelivery "$delivery"
