#!/usr/bin/env bash
# Fuzzes the management API against its own OpenAPI document with schemathesis 4.x
# (`st run`, default checks; schemathesis.toml beside this script says where and why a
# 400 is accepted for schema-valid data): a gateway on a fresh data directory, an admin
# session, every /api operation except logout and the own-profile update (they would end
# or re-key the session under test; their own tests are in tests/tests/api).
#
#   tests/schemathesis/run.sh            # builds and uses target/<debug>/gateway
#   GATEWAY_BIN=path/to/gateway tests/schemathesis/run.sh
#   ST_ARGS="--max-examples 20" tests/schemathesis/run.sh
#
# schemathesis is installed into a venv under $HOME/.cache (ST_VENV to change).
set -euo pipefail
cd "$(dirname "$0")/../.."

ST_VENV="${ST_VENV:-$HOME/.cache/gw-schemathesis-venv}"
if [ ! -x "$ST_VENV/bin/st" ]; then
    python3 -m venv "$ST_VENV"
fi
"$ST_VENV/bin/pip" install --quiet --disable-pip-version-check 'schemathesis>=4,<5'

if [ -z "${GATEWAY_BIN:-}" ]; then
    cargo build --locked -p gateway --bin gateway
    GATEWAY_BIN="${CARGO_TARGET_DIR:-target}/debug/gateway"
fi
GATEWAY_BIN="$(realpath "$GATEWAY_BIN")"

DATA="$(mktemp -d)"
LOG="$DATA/gateway.log"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
ADMIN_PASSWORD="st-admin-$(python3 -c 'import secrets; print(secrets.token_hex(12))')"
BASE="http://127.0.0.1:$PORT"

(cd "$DATA" && exec env -i PATH="$PATH" RUST_LOG=info HOST=127.0.0.1 PORT="$PORT" \
    DATABASE_URL="sqlite://$DATA/gateway.db" INITIAL_ADMIN_PASSWORD="$ADMIN_PASSWORD" \
    "$GATEWAY_BIN" >"$LOG" 2>&1) &
GW_PID=$!
trap 'kill "$GW_PID" 2>/dev/null || true; wait "$GW_PID" 2>/dev/null || true; rm -rf "$DATA"' EXIT

for _ in $(seq 1 100); do
    curl -sf "$BASE/health" >/dev/null 2>&1 && break
    if ! kill -0 "$GW_PID" 2>/dev/null; then break; fi
    sleep 0.2
done
if ! curl -sf "$BASE/health" >/dev/null 2>&1; then
    echo "the gateway did not start; its log:"
    cat "$LOG"
    exit 1
fi

TOKEN="$(curl -sf "$BASE/api/user/login" -H 'content-type: application/json' \
    -d "{\"username\":\"admin\",\"password\":\"$ADMIN_PASSWORD\"}" \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["data"]["token"])')"

status=0
CONFIG="$PWD/tests/schemathesis/schemathesis.toml"
# Run from the scratch directory: schemathesis keeps its example database there.
cd "$DATA"
# shellcheck disable=SC2086 # ST_ARGS is a list of options
"$ST_VENV/bin/st" --config-file "$CONFIG" \
    run "$BASE/api/openapi.json" \
    --header "Authorization: Bearer $TOKEN" \
    --exclude-name "POST /api/user/logout" \
    --exclude-name "PUT /api/user/self" \
    --workers 1 \
    --request-timeout 30 \
    ${ST_ARGS:-} || status=$?

if grep -q "internal error" "$LOG"; then
    echo "the gateway logged internal errors:"
    grep "internal error" "$LOG"
    status=1
fi
exit "$status"
