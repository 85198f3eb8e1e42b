# Vouch — the two commands are `make dev` and `make test`; the logic lives in scripts/ and Rust.
SHELL := /bin/bash
VENV := .venv
PY_TOOLS := $(VENV)/.installed

.PHONY: dev demo test lint unit api-fuzz pages check-template check-deploy bench fmt clean lambda-bootstraps

## Python tools (emulator, template linters, cargo-lambda, zig) in a project-local venv.
$(PY_TOOLS): requirements-dev.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(PY_TOOLS)

## Everything on http://127.0.0.1:$${VOUCH_PORT:-3000} against a local emulator; Ctrl-C stops it all.
dev: $(PY_TOOLS)
	VOUCH_MOTO_SERVER=scripts/moto-server cargo run --quiet -p vouch-local

## The whole referral loop, driven against a running `make dev` (start it in another terminal).
demo: $(PY_TOOLS)
	$(VENV)/bin/python scripts/demo.py

## Everything CI checks, on an emulator this target starts and stops.
test: $(PY_TOOLS) lint check-template unit api-fuzz pages

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --quiet -- -D warnings

# cargo-nextest when the machine has it (one summary line at the end), else cargo test.
TEST_RUNNER := $(if $(shell command -v cargo-nextest),cargo nextest run --workspace --no-fail-fast,cargo test --workspace --quiet)

unit: $(PY_TOOLS)
	scripts/with-emulator.sh $(TEST_RUNNER)

## The API document against the running service: Schemathesis, fixed seed (scripts/api-fuzz.sh).
api-fuzz: $(PY_TOOLS)
	scripts/api-fuzz.sh

## The public pages in headless Chromium at phone and desktop widths; screenshots in
## target/screenshots/ (scripts/pages.sh installs Debian's chromium when missing).
pages: $(PY_TOOLS)
	scripts/pages.sh

check-template: $(PY_TOOLS)
	$(VENV)/bin/cfn-lint infra/template.yaml
	$(VENV)/bin/sam validate --lint --template-file infra/template.yaml --region us-east-1

## sam build: cross-compiles every function for arm64 with cargo-lambda and zig.
check-deploy: $(PY_TOOLS)
	scripts/check-deploy.sh

## Cold starts of every function against a bare Lambda handler, the click path against a bare
## axum handler, and reports at 100 and 10,000 participants (in process, and their DynamoDB
## requests on an emulator), written to BENCHMARKS.md. Release builds first: the functions on
## their own, with the features they deploy with, then the bench (whose in-memory fakes would
## otherwise be compiled into the functions too).
BENCH_BUILD := CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS="-C relocation-model=static" \
  cargo build --release --quiet --target x86_64-unknown-linux-gnu
bench: $(PY_TOOLS)
	$(BENCH_BUILD) $(addprefix -p ,$(FUNCTIONS))
	$(BENCH_BUILD) -p vouch-bench
	scripts/with-emulator.sh target/x86_64-unknown-linux-gnu/release/vouch-bench

fmt:
	cargo fmt --all

clean:
	rm -rf $(VENV) .aws-sam target

## What `sam build` runs per function (BuildMethod: makefile, built in source): the first one
## builds every function's arm64 bootstrap in one cargo-lambda run (the later ones find them
## fresh), then each copies its own. LAMBDA_PROFILE picks the Cargo profile (`release` deploys).
LAMBDA_PROFILE ?= release
FUNCTIONS := link-click lead-intake admin-api job-webhook sms-inbound scheduler reward-issuer jobber-sync

lambda-bootstraps:
	cargo lambda build --profile $(LAMBDA_PROFILE) --arm64 $(addprefix -p ,$(FUNCTIONS))

build-LinkClickFunction: lambda-bootstraps
	cp target/lambda/link-click/bootstrap $(ARTIFACTS_DIR)/bootstrap
build-LeadIntakeFunction: lambda-bootstraps
	cp target/lambda/lead-intake/bootstrap $(ARTIFACTS_DIR)/bootstrap
build-AdminApiFunction: lambda-bootstraps
	cp target/lambda/admin-api/bootstrap $(ARTIFACTS_DIR)/bootstrap
build-JobWebhookFunction: lambda-bootstraps
	cp target/lambda/job-webhook/bootstrap $(ARTIFACTS_DIR)/bootstrap
build-SmsInboundFunction: lambda-bootstraps
	cp target/lambda/sms-inbound/bootstrap $(ARTIFACTS_DIR)/bootstrap
build-SchedulerFunction: lambda-bootstraps
	cp target/lambda/scheduler/bootstrap $(ARTIFACTS_DIR)/bootstrap
build-RewardIssuerFunction: lambda-bootstraps
	cp target/lambda/reward-issuer/bootstrap $(ARTIFACTS_DIR)/bootstrap
build-JobberSyncFunction: lambda-bootstraps
	cp target/lambda/jobber-sync/bootstrap $(ARTIFACTS_DIR)/bootstrap
