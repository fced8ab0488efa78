# taskstream: the two commands are `make dev` (run everything locally) and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

help: ## list targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

install: ## install what is missing (apt packages, npm deps, Kafka jars)
	@stack/install.sh

dev: ## start Kafka, PostgreSQL, Redis, all services and the dashboard (:5173) in the foreground; Ctrl-C stops everything
	@stack/dev.sh

down: ## stop everything `make dev` or `make test` started
	@STACK_PROFILE=dev stack/down.sh
	@STACK_PROFILE=test stack/down.sh

test: ## lint, typecheck, unit and integration tests on a throwaway real stack
	@stack/test.sh --project unit --project integration

test-faults: ## fault tests: broker outage, SIGKILLed services, restarted Redis/PostgreSQL, poison messages (own stack)
	@STACK_PROFILE=faults STACK_PORT_BASE=3 stack/test.sh --project faults

token: ## print a JWT for the local stack: make token USER=alice
	@test "$(origin USER)" = "command line" || { echo "usage: make token USER=<id> (USER from the shell is not taken)" >&2; exit 2; }
	@. stack/node-env.sh && TASKSTREAM_PROFILE=$${TASKSTREAM_PROFILE:-dev} node --import tsx bin/taskstream.ts token "$(USER)"

format: ## apply biome's formatting and safe fixes
	@npx --no biome check --write .

include deploy/deploy.mk
-include bench/bench.mk

.PHONY: help install dev down test test-faults token format
