#!/usr/bin/env bash
# Resolves Fabric's binaries and stock config, in this order: $FABRIC_BIN, the cache, PATH,
# `go install` of the pinned versions into the cache, Fabric's official release archives (checked
# against the checksums GitHub publishes for them). Writes $PHR_STATE/fabric.env and prints the bin
# folder; when no source works, exits 1 with one line naming why each failed.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CACHE_DIR="$PHR_CACHE/fabric-$FABRIC_VERSION-${FABRIC_COMMIT:0:12}-ca-$FABRIC_CA_VERSION"
reasons=()

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
  exit 0
}

# try_dir DIR LABEL: uses DIR when it holds every command and a stock config.
try_dir() {
  local dir="$1" label="$2" m cfg
  m="$(missing_in "$dir")"
  if [[ -n "$m" ]]; then
    reasons+=("$label lacks ${m%% *}")
    return 1
  fi
  cfg="$(config_dir_for "$dir")" || {
    reasons+=("$label has no stock config (core.yaml, orderer.yaml); set FABRIC_CFG_DIR")
    return 1
  }
  write_env "$dir" "$cfg"
}

if [[ -n "${FABRIC_BIN:-}" ]]; then
  # An explicit FABRIC_BIN is what the user wants, or an error: never a silent fallback.
  bin="$(cd "$FABRIC_BIN" 2>/dev/null && pwd)" || die "FABRIC_BIN=$FABRIC_BIN is not a directory"
  m="$(missing_in "$bin")"
  [[ -z "$m" ]] || die "FABRIC_BIN=$bin lacks: $m"
  cfg="$(config_dir_for "$bin")" || die "no Fabric stock config (core.yaml, orderer.yaml) found; set FABRIC_CFG_DIR"
  write_env "$bin" "$cfg"
fi
reasons+=("FABRIC_BIN unset")

if [[ -d "$CACHE_DIR/bin" ]]; then
  try_dir "$CACHE_DIR/bin" "the cache" || true
else
  reasons+=("nothing cached")
fi

if command -v peer >/dev/null 2>&1; then
  try_dir "$(cd "$(dirname "$(command -v peer)")" && pwd)" "PATH" || true
else
  reasons+=("not on PATH")
fi

# --- go install of the pinned versions ---
go_install() {
  command -v go >/dev/null 2>&1 || {
    reasons+=("no Go for go install")
    return 1
  }
  local have
  have="$(go env GOVERSION | sed 's/^go//')"
  if [[ "$(printf '%s\n%s\n' "$FABRIC_GO_MIN" "$have" | sort -V | head -n1)" != "$FABRIC_GO_MIN" ]]; then
    reasons+=("Go $have is older than Fabric's $FABRIC_GO_MIN")
    return 1
  fi
  phase "Installing Fabric $FABRIC_VERSION and Fabric CA $FABRIC_CA_VERSION with go install (once; cached in $CACHE_DIR)" >&2
  mkdir -p "$CACHE_DIR/bin"
  local log="$CACHE_DIR/install.log" c
  : >"$log"
  goinstall() {
    step "go install $1" >&2
    GOBIN="$CACHE_DIR/bin" GOFLAGS=-mod=mod go install "$1" >>"$log" 2>&1 && return 0
    local why
    why="$(grep -v '^[[:space:]]*$' "$log" | tail -n 2 | tr '\n' ' ' | grep -oE '[0-9]{3} [A-Z][A-Za-z]+( [A-Z][A-Za-z]+)?|not available|no matching versions|connection refused|no such host' | head -n1)"
    reasons+=("go install refused (${why:-see $log})")
    return 1
  }
  for c in peer orderer osnadmin configtxgen configtxlator; do goinstall "github.com/hyperledger/fabric/cmd/$c@$FABRIC_COMMIT" || return 1; done
  for c in "${CCAAS_COMMANDS[@]}"; do goinstall "github.com/hyperledger/fabric/ccaas_builder/cmd/$c@$FABRIC_COMMIT" || return 1; done
  for c in fabric-ca-server fabric-ca-client; do CGO_ENABLED=1 goinstall "github.com/hyperledger/fabric-ca/cmd/$c@$FABRIC_CA_VERSION" || return 1; done
  # The stock config ships inside the downloaded module; link it rather than copy it.
  local moddir
  moddir="$(cd "$CACHE_DIR" && go mod download -json "github.com/hyperledger/fabric@$FABRIC_COMMIT" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [[ -f "$moddir/sampleconfig/core.yaml" ]] || {
    reasons+=("go install worked but Fabric's sampleconfig is not in the module cache")
    return 1
  }
  ln -sfn "$moddir/sampleconfig" "$CACHE_DIR/config"
  done_ "Fabric binaries in $CACHE_DIR/bin" >&2
  return 0
}
if go_install; then try_dir "$CACHE_DIR/bin" "go install" || true; fi

# --- the official release archives, verified against their published SHA-256 ---
release_log="$(mktemp)"
if node "$PHR_ROOT/network/dist/fabric-release-cli.js" install --version "$FABRIC_VERSION" \
  --ca-version "$FABRIC_CA_VERSION" --dest "$CACHE_DIR" >/dev/null 2>"$release_log"; then
  rm -f "$release_log"
  try_dir "$CACHE_DIR/bin" "the release archives" || true
else
  reasons+=("$(tail -n 1 "$release_log")")
  rm -f "$release_log"
fi

(
  IFS=';'
  printf 'error: %s\n' "$(printf '%s; ' "${reasons[@]}" | sed 's/; $//')" >&2
)
exit 1
