# Benchmarks (bench/README-bench.md). Not part of `make test`. Each target starts its own `bench`
# stack (ports 4xxxx) and services, runs, then stops everything it started.

bench: ## short benchmark suite (a few minutes): e2e, ramp, ws-scale, reminders, query
	@bench/run.sh --short $(SUITES)

bench-full: ## full benchmark suite at the issue's targets (about 20 minutes)
	@bench/run.sh --full $(SUITES)

bench-tools: ## build the pinned k6 into the tools cache if missing
	@bench/install-k6.sh >/dev/null

.PHONY: bench bench-full bench-tools
