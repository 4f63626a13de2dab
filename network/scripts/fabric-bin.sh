#!/usr/bin/env bash
# Resolves the Fabric binaries and stock config, installing them with `go install` when needed.
# Order: $FABRIC_BIN (already installed binaries), then the cache, then `go install` into the cache.
# Writes $PHR_STATE/fabric.env.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CACHE_DIR="$PHR_CACHE/fabric-$FABRIC_VERSION-${FABRIC_COMMIT:0:12}-ca-$FABRIC_CA_VERSION"

missing_in() {
  local dir="$1" c out=()
  for c in "${FABRIC_COMMANDS[@]}" "${CCAAS_COMMANDS[@]}"; do
    [[ -x "$dir/$c" || -x "$dir/ccaas/$c" ]] || out+=("$c")
  done
  printf '%s' "${out[*]:-}"
}

config_dir_for() {
  local bin="$1" d
  for d in "${FABRIC_CFG_DIR:-}" "$bin/../config" "$bin/../sampleconfig"; do
    [[ -n "$d" && -f "$d/core.yaml" && -f "$d/orderer.yaml" ]] && { (cd "$d" && pwd); return 0; }
  done
  return 1
}

write_env() {
  mkdir -p "$PHR_STATE"
  printf 'FABRIC_BIN=%q\nFABRIC_CFG_DIR=%q\n' "$1" "$2" >"$PHR_STATE/fabric.env"
  echo "$1"
}

if [[ -n "${FABRIC_BIN:-}" ]]; then
  bin="$(cd "$FABRIC_BIN" 2>/dev/null && pwd)" || die "FABRIC_BIN=$FABRIC_BIN is not a directory"
  m="$(missing_in "$bin")"
  [[ -z "$m" ]] || die "FABRIC_BIN=$bin lacks: $m"
  cfg="$(config_dir_for "$bin")" || die "no Fabric stock config (core.yaml, orderer.yaml) found; set FABRIC_CFG_DIR"
  write_env "$bin" "$cfg"
  exit 0
fi

if [[ -z "$(missing_in "$CACHE_DIR/bin")" ]] && cfg="$(config_dir_for "$CACHE_DIR/bin")"; then
  write_env "$CACHE_DIR/bin" "$cfg"
  exit 0
fi

# --- install with go ---
command -v go >/dev/null 2>&1 || die "Go is not installed. Fabric's commands are installed with 'go install' (Go >= $FABRIC_GO_MIN), or set FABRIC_BIN to a folder of Fabric $FABRIC_VERSION binaries."
have="$(go env GOVERSION | sed 's/^go//')"
if [[ "$(printf '%s\n%s\n' "$FABRIC_GO_MIN" "$have" | sort -V | head -n1)" != "$FABRIC_GO_MIN" ]]; then
  die "Go $have is too old: Fabric $FABRIC_VERSION needs Go >= $FABRIC_GO_MIN. Install a newer Go or set FABRIC_BIN."
fi

phase "Installing Fabric $FABRIC_VERSION and Fabric CA $FABRIC_CA_VERSION with go install (once; cached in $CACHE_DIR)"
mkdir -p "$CACHE_DIR/bin"
install_log="$CACHE_DIR/install.log"
: >"$install_log"
goinstall() {
  step "go install $1"
  if ! GOBIN="$CACHE_DIR/bin" GOFLAGS=-mod=mod go install "$1" >>"$install_log" 2>&1; then
    tail -n 5 "$install_log" >&2
    die "go install $1 failed (log: $install_log). If the Go module proxy does not serve Hyperledger modules here, install Fabric $FABRIC_VERSION another way and set FABRIC_BIN to its bin folder."
  fi
}
for c in peer orderer osnadmin configtxgen configtxlator; do goinstall "github.com/hyperledger/fabric/cmd/$c@$FABRIC_COMMIT"; done
for c in "${CCAAS_COMMANDS[@]}"; do goinstall "github.com/hyperledger/fabric/ccaas_builder/cmd/$c@$FABRIC_COMMIT"; done
for c in fabric-ca-server fabric-ca-client; do CGO_ENABLED=1 goinstall "github.com/hyperledger/fabric-ca/cmd/$c@$FABRIC_CA_VERSION"; done

# The stock config ships inside the downloaded module; link it rather than copy it.
moddir="$(cd "$CACHE_DIR" && go mod download -json "github.com/hyperledger/fabric@$FABRIC_COMMIT" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
[[ -f "$moddir/sampleconfig/core.yaml" ]] || die "could not locate Fabric's sampleconfig in the module cache"
ln -sfn "$moddir/sampleconfig" "$CACHE_DIR/config"
done_ "Fabric binaries in $CACHE_DIR/bin"
write_env "$CACHE_DIR/bin" "$CACHE_DIR/config"
