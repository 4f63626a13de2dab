# shellcheck shell=bash
# Sourced by every network script: paths, logging, topology, Fabric binaries, process helpers.
set -euo pipefail

PHR_ROOT="${PHR_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
PHR_TOPOLOGY="${PHR_TOPOLOGY:-$PHR_ROOT/network/topology.yaml}"
PHR_STATE="${PHR_STATE:-$PHR_ROOT/network/.state}"
PHR_CACHE="${PHR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/phr-ledger}"
export PHR_ROOT PHR_TOPOLOGY PHR_STATE PHR_CACHE

# Fabric v3.1.5 by its tag's commit: the module path has no /v3 suffix, so Go needs a pseudo-version.
FABRIC_VERSION=3.1.5
FABRIC_COMMIT=86c1172bec37e6590c6b1ae6f847833df48d65fc
FABRIC_CA_VERSION=v1.5.21
FABRIC_GO_MIN=1.26.4
FABRIC_COMMANDS=(peer orderer osnadmin configtxgen configtxlator fabric-ca-server fabric-ca-client)
CCAAS_COMMANDS=(detect build release)

if [[ -t 1 ]]; then BOLD=$'\e[1m'; DIM=$'\e[2m'; RED=$'\e[31m'; GREEN=$'\e[32m'; RESET=$'\e[0m'; else BOLD='' DIM='' RED='' GREEN='' RESET=''; fi

phase() { printf '%s==>%s %s\n' "$BOLD" "$RESET" "$*"; }
step() { printf '    %s\n' "$*"; }
done_() { printf '    %s✓%s %s\n' "$GREEN" "$RESET" "$*"; }
skip() { printf '    %s· %s%s\n' "$DIM" "$*" "$RESET"; }
die() {
  printf '%serror:%s %s\n' "$RED" "$RESET" "$*" >&2
  exit 1
}

# Indirect variable read: v ORDERER_orderer1_PORT
v() { printf '%s' "${!1:?missing topology variable $1}"; }

# load_topology [HOSPITAL]: the topology as this state folder sees it — the channel's members, the
# hospitals run here, whether the core runs here — with HOSPITAL counted as joining when given.
load_topology() {
  mkdir -p "$PHR_STATE"
  local cli="$PHR_ROOT/network/dist/cli.js" with=()
  [[ -f "$cli" ]] || die "network tooling is not built; run 'make build' first"
  [[ -n "${1:-}" ]] && with=(--with "$1")
  node "$cli" env --topology "$PHR_TOPOLOGY" --state "$PHR_STATE" "${with[@]}" >"$PHR_STATE/topology.env.tmp" ||
    die "invalid topology $PHR_TOPOLOGY"
  mv "$PHR_STATE/topology.env.tmp" "$PHR_STATE/topology.env"
  # shellcheck disable=SC1091
  source "$PHR_STATE/topology.env"
}

# The topology as `network.sh up` last wrote it; process scripts read it rather than re-parse YAML.
source_topology() {
  [[ -f "$PHR_STATE/topology.env" ]] || die "no network in $PHR_STATE; run 'make network-up' first"
  # shellcheck disable=SC1091
  source "$PHR_STATE/topology.env"
}

# Reads FABRIC_BIN / FABRIC_CFG_DIR resolved by fabric-bin.sh.
load_fabric() {
  [[ -f "$PHR_STATE/fabric.env" ]] || "$PHR_ROOT/network/scripts/fabric-bin.sh" >/dev/null
  # shellcheck disable=SC1091
  source "$PHR_STATE/fabric.env"
  export FABRIC_BIN FABRIC_CFG_DIR
  export PATH="$FABRIC_BIN:$PATH"
}

# The engine this network runs on, as engine.sh chose it when the network was created:
# PHR_ENGINE=fabric (Fabric's binaries, fabric.env) or embedded (network/embedded).
PHR_EMBEDDED="$PHR_ROOT/network/embedded/dist"
load_engine() {
  [[ -f "$PHR_STATE/engine.env" ]] || die "no engine chosen for $PHR_STATE; run 'make network-up' first"
  local forced="${PHR_ENGINE:-}"
  # shellcheck disable=SC1091
  source "$PHR_STATE/engine.env"
  if [[ -n "$forced" && "$forced" != "$PHR_ENGINE" ]]; then
    die "this network ($PHR_STATE) runs on the $PHR_ENGINE engine, not $forced; 'make network-clean' first to switch"
  fi
  export PHR_ENGINE
  [[ "$PHR_ENGINE" == fabric ]] && load_fabric
  return 0
}

org_dir() { printf '%s/orgs/%s' "$PHR_STATE" "$1"; }
id_dir() { printf '%s/orgs/%s/identities/%s' "$PHR_STATE" "$1" "$2"; }
ca_cert() { printf '%s/orgs/%s/msp/cacerts/ca.pem' "$PHR_STATE" "$1"; }

pid_file() { printf '%s/pids/%s.pid' "$PHR_STATE" "$1"; }
log_file() { printf '%s/logs/%s.log' "$PHR_STATE" "$1"; }

is_running() {
  local f
  f="$(pid_file "$1")"
  [[ -f "$f" ]] && kill -0 "$(cat "$f")" 2>/dev/null
}

# Starts a process script in its own session (so stopping it stops its children), logging to logs/NAME.log.
start_process() {
  local name="$1"
  shift
  mkdir -p "$PHR_STATE/pids" "$PHR_STATE/logs"
  setsid "$@" >>"$(log_file "$name")" 2>&1 </dev/null &
  echo $! >"$(pid_file "$name")"
}

stop_process() {
  local name="$1" f pid
  f="$(pid_file "$name")"
  [[ -f "$f" ]] || return 0
  pid="$(cat "$f")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

# wait_https NAME URL CACERT [SECONDS]: polls a TLS endpoint until it answers 200.
wait_https() {
  local name="$1" url="$2" cacert="$3" limit="${4:-60}" i
  for ((i = 0; i < limit * 4; i++)); do
    if curl -fsS --max-time 2 --cacert "$cacert" "$url" >/dev/null 2>&1; then return 0; fi
    if ! is_running "$name"; then
      tail -n 20 "$(log_file "$name")" >&2 || true
      die "$name exited during start-up; see $(log_file "$name")"
    fi
    sleep 0.25
  done
  tail -n 20 "$(log_file "$name")" >&2 || true
  die "$name did not become healthy at $url within ${limit}s; see $(log_file "$name")"
}

# A random secret, kept in orgs/ORG/secrets/NAME (0600), created once.
secret_for() {
  local dir f
  dir="$(org_dir "$1")/secrets"
  f="$dir/$2"
  mkdir -p "$dir"
  chmod 700 "$dir"
  if [[ ! -s "$f" ]]; then
    (umask 077 && head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$f")
  fi
  cat "$f"
}
