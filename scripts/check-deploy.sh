#!/usr/bin/env bash
# `sam build` as a deployment would run it: cargo-lambda cross-compiles every function for arm64
# (Graviton) with zig, then checks that each bootstrap really is an aarch64 executable.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
export SAM_CLI_TELEMETRY=0
rustup target add aarch64-unknown-linux-gnu >/dev/null
sam validate --lint --template-file infra/template.yaml --region us-east-1
# One cargo run for every function shares the dependency build and links in parallel; sam build's
# own per-function cargo-lambda runs then find everything fresh.
cargo lambda build --release --arm64 -p link-click -p lead-intake -p admin-api -p job-webhook -p sms-inbound -p scheduler -p reward-issuer
sam build --beta-features --template-file infra/template.yaml --build-dir .aws-sam/build
status=0
for function in LinkClickFunction LeadIntakeFunction AdminApiFunction JobWebhookFunction SmsInboundFunction SchedulerFunction RewardIssuerFunction; do
  bootstrap=".aws-sam/build/$function/bootstrap"
  if [ ! -x "$bootstrap" ]; then echo "missing $bootstrap"; status=1; continue; fi
  machine=$(od -An -tx1 -j18 -N2 "$bootstrap" | tr -d ' ')
  size=$(du -h "$bootstrap" | cut -f1)
  if [ "$machine" = "b700" ]; then echo "$function: aarch64 bootstrap, $size"; else echo "$function: not aarch64 (e_machine $machine)"; status=1; fi
done
exit $status
