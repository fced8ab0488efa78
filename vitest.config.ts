import { defineConfig } from "vitest/config";

// Unit tests (`*.test.ts`) need nothing running. Integration tests (`*.int.test.ts`) talk to the real
// Kafka, PostgreSQL and Redis that `make test` starts (stack/test.sh); they run one file at a time.
// `make test` runs unit + integration; `make test-faults` runs the fault project on its own stack.
export default defineConfig({
  test: {
    fileParallelism: false,
    projects: [
      {
        test: {
          name: "unit",
          include: ["{client,common,ingest,processors,scheduler,fanout,storage,redpanda,bin,stack}/**/*.test.ts"],
          exclude: ["**/*.int.test.ts", "**/node_modules/**"],
        },
      },
      {
        test: {
          name: "integration",
          include: ["**/*.int.test.ts"],
          exclude: ["**/node_modules/**", "deploy/**", "test/faults/**"],
          testTimeout: 60_000,
          hookTimeout: 90_000,
        },
      },
      {
        // Stops and restarts the stack's broker, PostgreSQL and Redis: runs on its own stack (`make test-faults`).
        test: {
          name: "faults",
          include: ["test/faults/**/*.int.test.ts"],
          testTimeout: 240_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
