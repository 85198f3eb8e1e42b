#!/usr/bin/env bash
# The API document, fuzzed: Schemathesis generates requests from a local Vouch's /openapi.json
# (valid and invalid, with every check it has) against that Vouch (scripts/with-local.sh). The
# seed is printed; set VOUCH_FUZZ_SEED to replay a run and VOUCH_FUZZ_EXAMPLES for a deeper one.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${VOUCH_SESSION_FILE:-}" ]; then
  exec scripts/with-local.sh "$0" "$@"
fi
seed="${VOUCH_FUZZ_SEED:-20261202}"
examples="${VOUCH_FUZZ_EXAMPLES:-15}"
eval "$(python3 - "$VOUCH_SESSION_FILE" <<'PY'
import json, shlex, sys
s = json.load(open(sys.argv[1]))
for name, key in [("VOUCH_ADMIN_KEY", "admin_api_key"), ("VOUCH_OPERATOR_KEY", "operator_key"),
                  ("VOUCH_BUSINESS_ID", "business_id"), ("VOUCH_WEBHOOK_SECRET", "webhook_secret")]:
    print(f"export {name}={shlex.quote(s[key])}")
PY
)"
# The business's leaderboard is public, so its routes answer with data; a Housecall Pro signing
# secret is saved, so that signed deliveries reach past the signature check.
export VOUCH_HCP_SECRET="hcp-fuzz-signing-secret-$seed"
curl -sf -X PUT "$VOUCH_BASE_URL/api/admin/settings" -H "Authorization: Bearer $VOUCH_ADMIN_KEY" \
  -H 'Content-Type: application/json' \
  -d "{\"public_leaderboard\": true, \"integrations\": {\"housecallpro\": {\"signing_secret\": \"$VOUCH_HCP_SECRET\"}}}" >/dev/null
report=$(mktemp -d -t vouch-fuzz.XXXXXX)
trap 'rm -rf "$report"' EXIT
echo "api-fuzz: seed $seed, $examples examples per operation, against $VOUCH_BASE_URL"
status=0
# One worker: Python 3.11's parser is not safe for Hypothesis's lambdas in parallel threads.
SCHEMATHESIS_HOOKS=hooks PYTHONPATH=scripts/api-fuzz \
  .venv/bin/schemathesis --config-file scripts/api-fuzz/schemathesis.toml \
  run "$VOUCH_BASE_URL/openapi.json" \
  --checks all --max-examples "$examples" --seed "$seed" --workers 1 --no-color \
  --generation-database none --report-dir "$report" || status=$?
[ "$status" -eq 0 ] || echo "api-fuzz failed (replay with VOUCH_FUZZ_SEED=$seed)"
exit "$status"
