#!/usr/bin/env bash
# Runs a command against a local Vouch of its own: `make dev`'s server on a free port, with its
# own emulator and session file (exported as VOUCH_SESSION_FILE, the base URL as
# VOUCH_BASE_URL); the server is stopped however the command ends, and its log shown if it
# failed.
set -euo pipefail
cd "$(dirname "$0")/.."
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
work=$(mktemp -d -t vouch-local.XXXXXX)
export VOUCH_SESSION_FILE="$work/session.json"
export VOUCH_BASE_URL="http://127.0.0.1:$port"

cargo build --quiet -p vouch-local
VOUCH_PORT="$port" VOUCH_OPERATOR_KEY="op_local_$RANDOM$RANDOM" \
  VOUCH_MOTO_SERVER="${VOUCH_MOTO_SERVER:-scripts/moto-server}" RUST_LOG=warn \
  target/debug/vouch-local >"$work/server.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 600); do
  [ -s "$VOUCH_SESSION_FILE" ] && break
  if ! kill -0 "$pid" 2>/dev/null; then echo "vouch-local exited:"; cat "$work/server.log"; exit 1; fi
  sleep 0.1
done
[ -s "$VOUCH_SESSION_FILE" ] || { echo "vouch-local did not start:"; cat "$work/server.log"; exit 1; }
status=0
"$@" || status=$?
if [ "$status" -ne 0 ]; then
  echo "the server's log:"
  tail -n 50 "$work/server.log"
fi
exit "$status"
