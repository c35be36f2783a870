#!/usr/bin/env bash
# A single-node Garage (S3-compatible object store) on 127.0.0.1 for Uplift's S3 tests and
# the demo: `tools/garage.sh start` installs Garage into ~/.cache/garage when it is missing
# (`cargo install garage --locked`, about ten minutes), starts it with its data under
# $GARAGE_STATE (default ~/.cache/uplift-garage), applies a one-node layout, creates the
# bucket and an access key, and prints the UPLIFT_S3_* variables to `eval`.
# `tools/garage.sh stop` stops it; `tools/garage.sh env` prints the variables again.
set -euo pipefail

GARAGE_VERSION=2.5.0
GARAGE_ROOT="${GARAGE_ROOT:-$HOME/.cache/garage}"
GARAGE_BIN="$GARAGE_ROOT/bin/garage"
STATE="${GARAGE_STATE:-$HOME/.cache/uplift-garage}"
S3_PORT="${GARAGE_S3_PORT:-3900}"
RPC_PORT="${GARAGE_RPC_PORT:-3901}"
ADMIN_PORT="${GARAGE_ADMIN_PORT:-3903}"
BUCKET="${GARAGE_BUCKET:-uplift-test}"
# A fixed, local-only test key (Garage's format: GK + 24 hex digits; 64 hex digits of secret).
KEY_ID=GK0123456789abcdef01234567
SECRET=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef

say() { printf '%s\n' "$*" >&2; }

install() {
  if [ -x "$GARAGE_BIN" ] && "$GARAGE_BIN" --version 2>/dev/null | grep -q "$GARAGE_VERSION"; then
    return
  fi
  say "installing Garage $GARAGE_VERSION into $GARAGE_ROOT (cargo install, about ten minutes)"
  CARGO_TARGET_DIR="$HOME/.cache/garage-build" \
    cargo install garage --version "$GARAGE_VERSION" --locked --root "$GARAGE_ROOT" >&2
}

g() { "$GARAGE_BIN" -c "$STATE/garage.toml" "$@"; }

# A node that answers `status` may not serve its tables yet (seen on a restart over existing
# data): retry a set-up command for up to 30 seconds.
retry() {
  for _ in $(seq 1 60); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  "$@" >/dev/null
}

print_env() {
  cat <<VARS
export UPLIFT_S3_ENDPOINT=http://127.0.0.1:$S3_PORT
export UPLIFT_S3_REGION=garage
export UPLIFT_S3_BUCKET=$BUCKET
export UPLIFT_S3_ACCESS_KEY_ID=$KEY_ID
export UPLIFT_S3_SECRET_ACCESS_KEY=$SECRET
export UPLIFT_S3_PATH_STYLE=true
export UPLIFT_GARAGE_BIN=$GARAGE_BIN
VARS
}

running() {
  [ -f "$STATE/garage.pid" ] && kill -0 "$(cat "$STATE/garage.pid")" 2>/dev/null
}

start() {
  install
  mkdir -p "$STATE/meta" "$STATE/data"
  if ! running; then
    cat >"$STATE/garage.toml" <<TOML
metadata_dir = "$STATE/meta"
data_dir = "$STATE/data"
db_engine = "sqlite"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:$RPC_PORT"
rpc_public_addr = "127.0.0.1:$RPC_PORT"
rpc_secret = "$(printf '%064d' 7)"

[s3_api]
s3_region = "garage"
api_bind_addr = "127.0.0.1:$S3_PORT"
root_domain = ".s3.garage.localhost"

[admin]
api_bind_addr = "127.0.0.1:$ADMIN_PORT"
TOML
    "$GARAGE_BIN" -c "$STATE/garage.toml" server >"$STATE/garage.log" 2>&1 &
    echo $! >"$STATE/garage.pid"
    for _ in $(seq 1 60); do
      g status >/dev/null 2>&1 && break
      sleep 0.5
    done
  fi
  g status >/dev/null
  if ! g layout show 2>/dev/null | grep -q "dc1"; then
    node="$(g node id -q | cut -d@ -f1)"
    g layout assign -z dc1 -c 1G "$node" >/dev/null
    g layout apply --version 1 >/dev/null
  fi
  retry g bucket list
  if ! g key info "$KEY_ID" >/dev/null 2>&1; then
    retry g key import --yes -n uplift-test "$KEY_ID" "$SECRET"
  fi
  if ! g bucket info "$BUCKET" >/dev/null 2>&1; then
    retry g bucket create "$BUCKET"
  fi
  retry g bucket allow --read --write --owner "$BUCKET" --key "$KEY_ID"
  # Wait until the S3 API answers.
  for _ in $(seq 1 60); do
    curl -s -o /dev/null "http://127.0.0.1:$S3_PORT/" && break
    sleep 0.5
  done
  say "Garage is up on 127.0.0.1:$S3_PORT (bucket $BUCKET); log: $STATE/garage.log"
  print_env
}

stop() {
  if running; then
    kill "$(cat "$STATE/garage.pid")"
    rm -f "$STATE/garage.pid"
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  env) print_env ;;
  install) install ;;
  *) say "usage: $0 start|stop|env|install"; exit 2 ;;
esac
