#!/usr/bin/env bash
# Runs a command with a fresh moto_server on a free loopback port, exported to it as
# VOUCH_TEST_ENDPOINT; the emulator is stopped however the command ends.
set -euo pipefail
moto="${VOUCH_MOTO_SERVER:-scripts/moto-server}"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
log=$(mktemp -t moto.XXXXXX.log)
"$moto" -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 1 300); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
  if ! kill -0 "$pid" 2>/dev/null; then echo "moto_server exited:"; cat "$log"; exit 1; fi
  sleep 0.1
done
export VOUCH_TEST_ENDPOINT="http://127.0.0.1:$port"
echo "emulator at $VOUCH_TEST_ENDPOINT"
"$@"
