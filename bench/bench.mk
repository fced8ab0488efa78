# Benchmarks (bench/README-bench.md). Not part of `make test`. Each target starts its own `bench`
# stack (ports 4xxxx) and services, runs Gatling (bench/gatling; Maven fetches it into ~/.m2 when
# missing), then stops everything it started. Exit status non-zero when a Gatling assertion (a
# target of the core-performance issue) fails; BENCH_LENIENT=1 only reports.

bench: ## short benchmark suite (about 13 minutes): e2e, ramp, ws-scale, reminders, query (Gatling)
	@bench/run.sh --short $(SUITES)

bench-full: ## full benchmark suite at the issue's targets (about 25 minutes)
	@bench/run.sh --full $(SUITES)

bench-compare: ## the same ramp through taskstream, then through Centrifugo v6.9.1 (built once, ~4 min)
	@bench/run.sh --compare

.PHONY: bench bench-full bench-compare
