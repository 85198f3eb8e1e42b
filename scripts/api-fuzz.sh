#!/usr/bin/env bash
# The API document, fuzzed: a local Vouch (its own emulator, port and session file) is started,
# Schemathesis generates requests from /openapi.json (valid and invalid, with every check it
# has), and the server is stopped however the run ends. The seed is printed; set
# VOUCH_FUZZ_SEED to replay a run and VOUCH_FUZZ_EXAMPLES for a deeper one.
set -euo pipefail
cd "$(dirname "$0")/.."
seed="${VOUCH_FUZZ_SEED:-20261202}"
examples="${VOUCH_FUZZ_EXAMPLES:-15}"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
work=$(mktemp -d -t vouch-fuzz.XXXXXX)
session="$work/session.json"

cargo build --quiet -p vouch-local
VOUCH_PORT="$port" VOUCH_SESSION_FILE="$session" VOUCH_OPERATOR_KEY="op_fuzz_$RANDOM$RANDOM" \
  VOUCH_MOTO_SERVER="${VOUCH_MOTO_SERVER:-.venv/bin/moto_server}" RUST_LOG=warn \
  target/debug/vouch-local >"$work/server.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 600); do
  [ -s "$session" ] && break
  if ! kill -0 "$pid" 2>/dev/null; then echo "vouch-local exited:"; cat "$work/server.log"; exit 1; fi
  sleep 0.1
done
[ -s "$session" ] || { echo "vouch-local did not start:"; cat "$work/server.log"; exit 1; }

eval "$(python3 - "$session" <<'PY'
import json, shlex, sys
s = json.load(open(sys.argv[1]))
for name, key in [("VOUCH_ADMIN_KEY", "admin_api_key"), ("VOUCH_OPERATOR_KEY", "operator_key"),
                  ("VOUCH_BUSINESS_ID", "business_id"), ("VOUCH_WEBHOOK_SECRET", "webhook_secret")]:
    print(f"export {name}={shlex.quote(s[key])}")
PY
)"
echo "api-fuzz: seed $seed, $examples examples per operation, against http://127.0.0.1:$port"
status=0
SCHEMATHESIS_HOOKS=hooks PYTHONPATH=scripts/api-fuzz SE_AVOID_STATS=true \
  .venv/bin/schemathesis --config-file scripts/api-fuzz/schemathesis.toml \
  run "http://127.0.0.1:$port/openapi.json" \
  --checks all --max-examples "$examples" --seed "$seed" --workers 1 --no-color \
  --generation-database none \
  --report-dir "$work/report" || status=$?
if [ "$status" -ne 0 ]; then
  echo "api-fuzz failed (replay with VOUCH_FUZZ_SEED=$seed); the server's log:"
  tail -n 50 "$work/server.log"
fi
exit "$status"
