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
for function in LinkClickFunction LeadIntakeFunction AdminApiFunction JobWebhookFunction SmsInboundFunction SchedulerFunction RewardIssuerFunction JobberSyncFunction; do
  bootstrap=".aws-sam/build/$function/bootstrap"
  if [ ! -x "$bootstrap" ]; then echo "missing $bootstrap"; status=1; continue; fi
  machine=$(od -An -tx1 -j18 -N2 "$bootstrap" | tr -d ' ')
  size=$(du -h "$bootstrap" | cut -f1)
  # e_type 2 is a position-dependent executable (.cargo/config.toml): no relocations at start-up.
  kind=$(od -An -tx1 -j16 -N2 "$bootstrap" | tr -d ' ')
  if [ "$machine" != "b700" ]; then echo "$function: not aarch64 (e_machine $machine)"; status=1;
  elif [ "$kind" != "0200" ]; then echo "$function: a position-independent executable (e_type $kind), relocated at every cold start"; status=1;
  else echo "$function: aarch64 position-dependent bootstrap, $size"; fi
done
# The CPU jitter entropy source is left out of aws-lc when its build script sees
# AWS_LC_SYS_NO_JITTER_ENTROPY (.cargo/config.toml sets it for every build): the first random
# number of a process no longer costs the 22-30 ms of CPU it was measured at.
lc_output=$(ls -t target/aarch64-unknown-linux-gnu/"$LAMBDA_PROFILE"/build/aws-lc-sys-*/output 2>/dev/null | head -1)
if grep -qs "AWS_LC_SYS_NO_JITTER_ENTROPY': '1'" "$lc_output"; then
  echo "aws-lc built without CPU jitter entropy ($lc_output)"
else
  echo "aws-lc was built with CPU jitter entropy (no AWS_LC_SYS_NO_JITTER_ENTROPY in ${lc_output:-its build output})"
  status=1
fi
exit $status
