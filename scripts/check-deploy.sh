#!/usr/bin/env bash
# `sam build` as a deployment runs it: the functions' Makefile targets cross-compile every
# function for arm64 (Graviton) with cargo-lambda and zig in one cargo run, then each bootstrap is
# checked to be an aarch64 executable. LAMBDA_PROFILE picks the Cargo profile: `arm64-check` by
# default here (no whole-program optimisation: it proves the build, not the deployed speed);
# `LAMBDA_PROFILE=release make check-deploy` builds exactly what `sam build` deploys.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
export SAM_CLI_TELEMETRY=0
rustup target add aarch64-unknown-linux-gnu >/dev/null
sam validate --lint --template-file infra/template.yaml --region us-east-1
export LAMBDA_PROFILE="${LAMBDA_PROFILE:-arm64-check}"
sam build --build-in-source --template-file infra/template.yaml --build-dir .aws-sam/build
status=0
for function in LinkClickFunction LeadIntakeFunction AdminApiFunction JobWebhookFunction SmsInboundFunction SchedulerFunction RewardIssuerFunction; do
  bootstrap=".aws-sam/build/$function/bootstrap"
  if [ ! -x "$bootstrap" ]; then echo "missing $bootstrap"; status=1; continue; fi
  machine=$(od -An -tx1 -j18 -N2 "$bootstrap" | tr -d ' ')
  size=$(du -h "$bootstrap" | cut -f1)
  if [ "$machine" = "b700" ]; then echo "$function: aarch64 bootstrap, $size"; else echo "$function: not aarch64 (e_machine $machine)"; status=1; fi
done
exit $status
